"""Forms of the operator console."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.parsing import year_in_range
from roster.rules import normalise_phone

URGENCY_LABELS = {
    "emergency": _l("Emergency"),
    "ordinary": _l("Ordinary"),
    "formal": _l("Formal written appeal"),
}
WRAPUP_LABELS = {
    "info": _l("Information given"),
    "wrong-number": _l("Wrong number"),
    "abusive": _l("Abusive caller (review blocking)"),
}


def _phone(form, field) -> None:
    if not field.data:
        return
    try:
        field.data = normalise_phone(field.data)
    except ValueError:
        raise ValidationError(_l("Enter a valid phone number, e.g. +7 916 123-45-67.")) from None


def _endpoint(form, field) -> None:
    value = (field.data or "").strip()
    if value.startswith("client:"):
        if len(value) <= len("client:"):
            raise ValidationError(_l("Give the client identity after «client:»."))
        field.data = value
        return
    _phone(form, field)


class ShiftForm(FlaskForm):
    endpoint = StringField(
        _l("Your phone (or client:identity)"),
        validators=[DataRequired(), Length(max=64), _endpoint],
    )
    #: Ready: waiting calls are offered to her at once; otherwise she starts on a break.
    ready = BooleanField(_l("Ready for calls"), default=True)


BREAK_LABELS = {
    "rest": _l("Rest"),
    "lunch": _l("Lunch"),
    "training": _l("Training"),
    "meeting": _l("Meeting"),
    "not-ready": _l("Not ready"),
    "missed-offer": _l("Not ready (missed offer)"),
}
STATE_LABELS = {
    "ready": _l("Ready"),
    "offered": _l("Call offered"),
    "on_call": _l("On call"),
    "wrap_up": _l("After-call work"),
    "break": _l("Break"),
    "offline": _l("Offline"),
}


class StateForm(FlaskForm):
    action = SelectField(
        choices=[SelectChoice(code, code) for code in ("ready", "break", "extend")],
        validators=[DataRequired()],
    )
    reason = SelectField(
        _l("Reason"),
        choices=[
            SelectChoice(code, label)
            for code, label in BREAK_LABELS.items()
            if code != "missed-offer"
        ],
        validators=[Optional()],
        validate_choice=False,
    )


class AppealForm(FlaskForm):
    municipality = StringField(
        _l("Municipality"),
        validators=[DataRequired(_l("Choose the municipality.")), Length(max=200)],
    )
    category = SelectField(_l("Category"), validators=[Optional()])
    urgency = SelectField(
        _l("Urgency"), choices=[SelectChoice(code, label) for code, label in URGENCY_LABELS.items()]
    )
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    text = TextAreaField(
        _l("What happened"),
        validators=[DataRequired(_l("Write down the caller's matter.")), Length(max=4000)],
    )
    caller_name = StringField(_l("Caller's name"), validators=[Optional(), Length(max=200)])
    callback_number = StringField(
        _l("Call-back number"),
        validators=[DataRequired(_l("Give a number to call back.")), Length(max=32), _phone],
    )


class WrapUpForm(FlaskForm):
    code = SelectField(
        _l("Wrap-up"), choices=[SelectChoice(code, label) for code, label in WRAPUP_LABELS.items()]
    )


class ControlCallForm(FlaskForm):
    text = TextAreaField(
        _l("Result of the control call"),
        validators=[DataRequired(_l("Write down what you learnt.")), Length(max=2000)],
    )


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    number = StringField(_l("Appeal number"), validators=[Optional(), Length(max=16)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    address = StringField(_l("Address contains"), validators=[Optional(), Length(max=300)])
    municipality = SelectField(_l("Municipality"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional(), year_in_range])
    until = DateField(_l("To"), validators=[Optional(), year_in_range])
