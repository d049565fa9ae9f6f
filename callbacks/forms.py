"""Forms of the cabinet."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

RESOLUTION_LABELS = {
    "": _l("No code"),
    "fixed": _l("Problem fixed"),
    "scheduled": _l("Work scheduled with a date"),
    "explained": _l("Explained to the citizen"),
    "not_confirmed": _l("Problem not confirmed on site"),
    "other_authority": _l("Passed to the competent authority"),
}


class NoteForm(FlaskForm):
    text = TextAreaField(
        lazy_pgettext("card", "Note"), validators=[DataRequired(), Length(max=2000)]
    )
    restricted = BooleanField(_l("Only for the municipality's staff and the regional managers"))


class ForwardForm(FlaskForm):
    municipality = SelectField(_l("Municipality"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class CallbackForm(FlaskForm):
    official = SelectField(_l("Call from the phone of"), coerce=int)


class OutcomeForm(FlaskForm):
    code = SelectField(
        _l("Resolution code"),
        choices=[SelectChoice(code, label) for code, label in RESOLUTION_LABELS.items()],
    )
    text = TextAreaField(_l("What was done"), validators=[DataRequired(), Length(max=4000)])


class PhotoForm(FlaskForm):
    kind = SelectField(
        _l("Photo"),
        choices=[SelectChoice("before", _l("Before")), SelectChoice("after", _l("After"))],
    )
    photo = FileField(_l("File"), validators=[FileRequired()])
