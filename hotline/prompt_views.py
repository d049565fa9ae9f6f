"""The managers' page listing every prompt the line speaks, with its wording and length."""

from flask import Blueprint, render_template

from core.auth import roles_required
from hotline.prompts import DEFAULTS, prompt_texts

bp = Blueprint("prompts", __name__, url_prefix="/prompts")


@bp.get("/")
@roles_required("manager", "admin")
def index():
    """List the prompts as callers and officials hear them now."""
    texts = prompt_texts()
    rows = [(key, texts[key], key in texts.overridden) for key in DEFAULTS]
    return render_template("hotline/prompts.html", rows=rows)
