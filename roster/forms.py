"""Roster forms: rotation, override, swap, unavailability, CSV import."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from core.parsing import year_in_range

#: Places in a rotation's order offered by the form.
ROTATION_PLACES = 6


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


ROLE_CHOICES = [
    SelectChoice("primary", _l("Primary")),
    SelectChoice("backup", _l("Backup")),
    SelectChoice("supervisor", _l("Supervisor")),
]


class RotationForm(FlaskForm):
    officials = FieldList(
        SelectField(_l("Official"), coerce=_optional_int, validate_choice=False),
        min_entries=ROTATION_PLACES,
        max_entries=ROTATION_PLACES,
    )
    handoff = TimeField(_l("Handoff time (local)"), validators=[InputRequired()])
    length = RadioField(
        _l("Turn length"),
        choices=[
            SelectChoice("1", _l("Daily")),
            SelectChoice("7", _l("Weekly")),
            SelectChoice("custom", _l("Every N days")),
        ],
        default="1",
    )
    length_days = IntegerField(
        _l("Days per turn"),
        default=3,
        validators=[NumberRange(min=1, max=28, message=_l("From 1 to 28 days."))],
    )
    starts_on = DateField(_l("First handoff on"), validators=[InputRequired(), year_in_range])

    def set_official_choices(self, choices):
        for entry in self.officials:
            entry.choices = [SelectChoice("", "—"), *choices]

    def validate_officials(self, field):
        chosen = [entry.data for entry in field if entry.data]
        if not chosen:
            raise ValidationError(_("Put at least one official in the order."))
        allowed = {str(choice.value) for choice in field[0].choices if choice.value}
        if any(str(value) not in allowed for value in chosen):
            raise ValidationError(_("Choose officials of this municipality."))

    def chosen_officials(self) -> list[int]:
        return [entry.data for entry in self.officials if entry.data]

    def chosen_length(self) -> int:
        return self.length_days.data if self.length.data == "custom" else int(self.length.data)


class OverrideForm(FlaskForm):
    role = SelectField(_l("Slot"), choices=ROLE_CHOICES)
    official_id = SelectField(_l("Official on duty"), coerce=int)
    starts_at = DateTimeLocalField(
        _l("From (local time)"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(), year_in_range],
    )
    ends_at = DateTimeLocalField(
        _l("Until (local time)"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(), year_in_range],
    )
    note = StringField(_l("Reason"), validators=[Length(max=200)])


class SwapForm(FlaskForm):
    first_id = SelectField(_l("First shift"), coerce=int)
    second_id = SelectField(_l("Second shift"), coerce=int)
    note = StringField(_l("Reason"), validators=[Length(max=200)])

    def validate_second_id(self, field):
        if field.data == self.first_id.data:
            raise ValidationError(_("Choose two different shifts."))


class UnavailabilityForm(FlaskForm):
    official_id = SelectField(_l("Official"), coerce=int)
    reason = SelectField(
        _l("Reason"),
        choices=[
            SelectChoice("vacation", _l("vacation")),
            SelectChoice("sick", _l("sick leave")),
            SelectChoice("other", _l("other")),
        ],
    )
    starts_on = DateField(_l("First day"), validators=[InputRequired(), year_in_range])
    ends_on = DateField(_l("Last day"), validators=[InputRequired(), year_in_range])
    note = StringField(_l("Note"), validators=[Length(max=200)])

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_("The last day cannot be before the first day."))


class ImportForm(FlaskForm):
    what = SelectField(
        _l("What the file holds"),
        choices=[SelectChoice("officials", _l("Officials")), SelectChoice("shifts", _l("Shifts"))],
        validators=[DataRequired()],
    )
    file = FileField(
        _l("CSV file (UTF-8)"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["csv", "txt"], _l("Upload a .csv file.")),
        ],
    )
    dry_run = BooleanField(_l("Dry run: only show what would change"), default=True)
