"""The invitation page ("Uitnodiging versturen"): per person, hand out one more personal link
by the device's share sheet, WhatsApp, SMS, a mail or a printed letter.

Every hand-out is a POST that makes the link and answers with it at once (the link never
travels in a URL the server logs): a page with the ready text and its buttons, the letter to
print, or the word that the mail went out. The texts are in the person's language; the page
around them in the coordinator's.
"""

from __future__ import annotations

import segno
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server import i18n
from server.conference import auth
from server.conference import handout as handing
from server.i18n import _
from server.rules import handout
from server.rules.forms import FormResult
from server.storage.models import Conference, Participant
from server.views import common
from server.views.participants import _target_participant

# What the preview shows where the link will be (it is made only when it is handed out).
_PLACEHOLDER = "https://…"


def _qr_svg(url: str, title: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=5, border=2, title=title, omitsize=True))


def _no_store(response: Response) -> Response:
    """A page that holds a link: never kept by a browser's or proxy's cache."""
    response.headers["cache-control"] = "no-store"
    return response


async def _page(
    request: Request,
    *,
    language: str | None = None,
    status_code: int = 200,
    forms: dict[str, FormResult] | None = None,
    error: str = "",
    language_error: str = "",
) -> Response:
    who, conference, participant = await _target_participant(request)
    store = common.store(request)
    settings = common.settings(request)
    language = language or handing.language_of(participant)
    told = await handing.details(store, conference, participant)
    with i18n.using(language):
        preview = handout.message(told, _PLACEHOLDER, settings.time_zone)
    forms = forms or {}
    for channel in handout.CHANNELS:
        forms.setdefault(channel, FormResult({"email": participant.email or ""}))
    return common.render(
        request,
        "handout/invite.html",
        status_code,
        who=who,
        conference=conference,
        participant=participant,
        language=language,
        preview=preview,
        forms=forms,
        mail_on=settings.smtp.enabled,
        error=error,
        language_error=language_error,
        CHANNEL_TITLES=handout.CHANNEL_TITLES,
    )


async def invite_page(request: Request) -> Response:
    """The person's invitation page; ``?language=`` writes the texts in another language."""
    asked = request.query_params.get("language")
    if asked is not None and asked not in i18n.LANGUAGES:
        return await _page(
            request, status_code=400, language_error=_("Kies een taal uit de lijst.")
        )
    return await _page(request, language=asked)


async def invite_send(request: Request) -> Response:
    """Hand out one more link by the channel in the URL, and show what to do with it."""
    who, conference, participant = await _target_participant(request)
    channel = request.path_params["channel"]
    if channel not in handout.CHANNELS:
        raise HTTPException(404, _("Zo kan Kring geen uitnodiging versturen."))
    store, settings = common.store(request), common.settings(request)
    form = handout.hand_out_form(channel, await request.form(), handing.language_of(participant))
    if not form.result.ok:
        return await _page(
            request,
            language=form.language if form.language in i18n.LANGUAGES else None,
            status_code=400,
            forms={channel: form.result},
            error=_("Er is geen link gemaakt: verbeter wat hieronder staat."),
        )
    if channel == "mail":
        return await _mail(request, who, conference, participant, form)
    done = await handing.hand_out(
        store,
        settings,
        conference,
        participant,
        channel,
        language=form.language,
        actor=common.actor(who),
    )
    if channel == "letter":
        return _no_store(_letter(request, who, conference, participant, done))
    return _no_store(
        common.render(
            request,
            "handout/ready.html",
            who=who,
            conference=conference,
            participant=participant,
            done=done,
            whatsapp=handout.whatsapp_url(done.text, form.phone),
            sms=handout.sms_url(done.text, form.phone),
            CHANNEL_TITLES=handout.CHANNEL_TITLES,
        )
    )


async def _mail(
    request: Request,
    who: auth.CoordinatorIdentity,
    conference: Conference,
    participant: Participant,
    form: handout.HandOutForm,
) -> Response:
    try:
        await handing.mail_invitation(
            common.store(request),
            common.settings(request),
            conference,
            participant,
            form.email,
            language=form.language,
            actor=common.actor(who),
        )
    except handing.MailOff:
        return await _page(
            request,
            language=form.language,
            status_code=409,
            error=_("E-mail staat uit: er is geen mailserver ingesteld. Er is geen link gemaakt."),
        )
    except handing.MailNotSent as exc:
        refused = FormResult(form.result.values)
        refused.errors["email"] = exc.reason
        return await _page(
            request,
            language=form.language,
            status_code=502,
            forms={"mail": refused},
            error=_(
                "De uitnodiging is niet verstuurd, en de link die ervoor gemaakt was, werkt "
                "niet: probeer het later opnieuw of kies een andere manier."
            ),
        )
    return common.render(
        request,
        "handout/ready.html",
        who=who,
        conference=conference,
        participant=participant,
        done=None,
        mailed_to=form.email,
        CHANNEL_TITLES=handout.CHANNEL_TITLES,
    )


def _letter(
    request: Request,
    who: auth.CoordinatorIdentity,
    conference: Conference,
    participant: Participant,
    done: handing.HandedOut,
) -> Response:
    """The letter to print: written in the person's language, inside a page in the
    coordinator's."""
    with i18n.using(done.language):
        letter = Markup(  # noqa: S704 (the template escapes everything it is given)
            common.render_fragment(
                "handout/_letter.html",
                conference=conference,
                told=done.details,
                url=done.url,
                parts=handout.parts(),
                contact=handout.contact(done.details),
                qr=_qr_svg(done.url, _("Persoonlijke link van %(name)s", name=done.details.name)),
                language=done.language,
            )
        )
    return common.render(
        request,
        "handout/letter.html",
        who=who,
        conference=conference,
        participant=participant,
        letter=letter,
    )
