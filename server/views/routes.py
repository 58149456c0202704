"""Every URL Kring answers, and the handler of each: the one routing table (``app.py`` adds
the static files), and the exceptions that handlers raise to get a page of their own.

``/conferences/...`` is the coordinator's (a login), ``/c/...`` a conference as its people
see it (a personal link, or the coordinator's login), ``/api/...`` the JSON API and the event
stream, ``/ws/...`` the live documents, ``/feeds/...`` the calendar feeds (the key is in the
URL).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route, WebSocketRoute

from server.conference.heavy import Busy, WorkLost
from server.views import (
    access,
    account,
    actionteam,
    admin,
    admission,
    api,
    common,
    compass,
    compasscopy,
    console,
    coordinator,
    dashboard,
    device,
    export,
    feeds,
    handout,
    invitations,
    networkmap,
    participant,
    participants,
    plan,
    practical,
    presentation,
    site,
    stream,
    supporters,
    twofactor,
    watch,
    websocket,
)

POST = ["POST"]
CONFERENCE = "/conferences/{conference_id}"
PARTICIPANT = CONFERENCE + "/participants/{participant_id:int}"
PROPOSAL = CONFERENCE + "/proposals/{proposal_id:int}"
C = "/c/{conference_id}"

routes: list[BaseRoute] = [
    # everyone
    Route("/", site.home),
    Route("/healthz", watch.healthz),
    Route("/metrics", watch.metrics_page),
    Route("/privacy", site.privacy),
    Route("/language", site.choose_language, methods=POST),
    # the coordinator: login, their conferences, the conference page
    Route("/login", coordinator.login, methods=["GET", "POST"]),
    Route("/logout", coordinator.logout, methods=POST),
    Route("/conferences", coordinator.conference_list),
    Route("/account/contact", coordinator.contact_details, methods=["GET", "POST"]),
    # the second factor: the login's second step, one's own, the admin's requirement
    Route("/login/code", twofactor.login_code, methods=["GET", "POST"]),
    Route("/account/two-factor", twofactor.account_page, methods=["GET", "POST"]),
    Route("/account/two-factor/off", twofactor.turn_off, methods=POST),
    Route("/account/two-factor/recovery-codes", twofactor.new_recovery_codes, methods=POST),
    Route("/admin/two-factor", twofactor.admin_page, methods=["GET", "POST"]),
    # accounts: one's own password, one-time links to choose one, the admin page
    Route("/account/password", account.change_password, methods=["GET", "POST"]),
    Route("/login/forgotten", account.forgotten, methods=["GET", "POST"]),
    Route("/password/{token}", account.choose_password, methods=["GET", "POST"]),
    Route("/admin", admin.admin_page),
    Route("/admin/invite", admin.invite, methods=POST),
    Route("/admin/accounts/{account_id:int}/{action}", admin.account_action, methods=POST),
    Route("/admin/conferences/{conference_id}/hand-over", admin.hand_over, methods=POST),
    Route("/conferences/new", coordinator.conference_new, methods=["GET", "POST"]),
    Route(CONFERENCE, participants.conference_detail),
    Route(CONFERENCE + "/edit", coordinator.conference_edit, methods=["GET", "POST"]),
    Route(CONFERENCE + "/participants", participants.participant_add, methods=POST),
    Route(PARTICIPANT + "/link", participants.participant_link, methods=POST),
    Route(PARTICIPANT + "/email", participants.participant_email, methods=POST),
    Route(PARTICIPANT + "/revoke", participants.participant_revoke, methods=POST),
    Route(
        PARTICIPANT + "/links/{invitation_id}/end", participants.participant_end_link, methods=POST
    ),
    Route(PARTICIPANT + "/remove", participants.participant_remove, methods=POST),
    Route(PARTICIPANT + "/practical", practical.person_practical, methods=POST),
    Route(CONFERENCE + "/practical", practical.conference_practical, methods=POST),
    Route(CONFERENCE + "/cards", participants.invitation_cards, methods=["GET", "POST"]),
    Route(PARTICIPANT + "/invite", handout.invite_page),
    Route(PARTICIPANT + "/invite/{channel}", handout.invite_send, methods=POST),
    Route(CONFERENCE + "/supporters", supporters.coordinator_supporters_form, methods=POST),
    # the preparation: from the network map and the family's proposals to the list
    Route(CONFERENCE + "/map/{entry_id}/invite", invitations.invite_from_map_form, methods=POST),
    Route(PARTICIPANT + "/invitation", invitations.status_form, methods=POST),
    Route(PROPOSAL + "/invite", invitations.accept_form, methods=POST),
    Route(PROPOSAL + "/decline", invitations.decline_form, methods=POST),
    Route(CONFERENCE + "/export.zip", export.export_zip),
    Route(CONFERENCE + "/export", export.export_page),
    Route(CONFERENCE + "/export", export.export_start, methods=POST),
    Route(CONFERENCE + "/export/{job}", export.export_download),
    Route(CONFERENCE + "/erase", coordinator.erase_form, methods=POST),
    Route("/outcomes", dashboard.outcomes_page),
    # the coordinator's console during the meeting
    Route(CONFERENCE + "/console", console.console),
    Route(CONFERENCE + "/phase", console.phase_form, methods=POST),
    Route(CONFERENCE + "/questions", console.question_form, methods=POST),
    Route(CONFERENCE + "/action-team", console.action_team_form, methods=POST),
    Route(CONFERENCE + "/finalise", console.finalise_form, methods=POST),
    Route(CONFERENCE + "/attendance", console.attendance_form, methods=POST),
    Route(PARTICIPANT + "/answer", console.recorded_answer_form, methods=POST),
    Route(CONFERENCE + "/audit", console.audit_log),
    # who read what (NEN 7513)
    Route(CONFERENCE + "/access", access.access_page),
    Route(CONFERENCE + "/access.csv", access.access_csv),
    # a participant: their link, their page and its forms
    Route("/i/{token}", participant.open_invitation, methods=["GET", "POST"]),
    Route(C, participant.participant_page),
    Route(C + "/privacy", participant.participant_privacy_seen, methods=POST),
    Route(C + "/conference.ics", participant.conference_ics),
    Route(C + "/signal", participant.signal_form, methods=POST),
    Route(C + "/signal/undo", participant.plan_ready_undo_form, methods=POST),
    Route(C + "/conditions", participant.condition_add_form, methods=POST),
    Route(C + "/conditions/check", participant.conditions_check_form, methods=POST),
    Route(C + "/conditions/{condition_id:int}/edit", participant.condition_edit_form, methods=POST),
    Route(
        C + "/conditions/{condition_id:int}/delete",
        participant.condition_delete_form,
        methods=["GET", "POST"],
    ),
    Route(
        C + "/conditions/{condition_id:int}/check", participant.condition_check_form, methods=POST
    ),
    Route(C + "/answer", participant.answer_form, methods=POST),
    Route(C + "/rating", participant.rating_form, methods=POST),
    # the network compass, in the preparation
    Route(C + "/compass", compass.compass_page),
    Route(C + "/supporters", supporters.client_supporters_form, methods=POST),
    Route(C + "/invitation", invitations.answer_form, methods=POST),
    Route(C + "/proposals", invitations.propose_form, methods=POST),
    # the plan, its frozen versions, and the family's decisions on its page in private time
    Route(C + "/plan", plan.plan_page),
    Route(C + "/plan/compare", plan.compare_page),
    # the network compass's map (the preparation)
    Route(C + "/compass/map", networkmap.map_page),
    Route(C + "/present", presentation.presentation_page),
    Route(C + "/plan/{number:int}", plan.copy_page),
    Route(C + "/plan/{number:int}.pdf", plan.copy_pdf),
    # the client's own copy of their network compass
    Route(C + "/compass/compass.json", compasscopy.compass_json),
    Route(C + "/compass/compass.pdf", compasscopy.compass_pdf),
    Route(C + "/admission/{session_id:int}", admission.decide, methods=POST),
    Route(C + "/devices/{session_id:int}/send-out", admission.send_out, methods=POST),
    # the action team after the conference
    Route(C + "/follow-ups.ics", actionteam.follow_up_ics),
    Route(C + "/follow-ups", actionteam.follow_ups_page),
    Route(C + "/follow-ups", actionteam.start_form, methods=POST),
    Route(C + "/follow-ups/next", actionteam.next_date_form, methods=POST),
    Route(C + "/follow-ups/{number:int}", actionteam.meeting_page),
    Route(C + "/follow-ups/{number:int}/attendance", actionteam.attendance_form, methods=POST),
    Route(C + "/follow-ups/{number:int}/close", actionteam.close_form, methods=POST),
    Route(C + "/follow-ups/{number:int}/rating", actionteam.rating_form, methods=POST),
    # the device
    Route("/sw.js", device.service_worker),
    Route("/switch", device.switch_person),
    Route(C + "/forget", device.forget_device, methods=POST),
    # the JSON API, the event stream and the live documents
    Route("/api/conferences/{conference_id}/phase", api.change_phase, methods=POST),
    Route("/api/conferences/{conference_id}/signals", api.signal, methods=POST),
    Route("/api/conferences/{conference_id}/plan", api.plan),
    Route("/api/conferences/{conference_id}/events", stream.events_stream),
    WebSocketRoute("/ws/{conference_id}/{document}", websocket.live_document),
    # calendar feeds
    Route("/feeds/p/{participant_id:int}/{key}.ics", feeds.participant_feed),
    Route("/feeds/a/{account_id:int}/{key}.ics", feeds.account_feed),
]

exception_handlers: Mapping[Any, Callable[..., Any]] = {
    HTTPException: common.http_error,
    common.LoginRequired: common.login_redirect,
    common.KeptOut: common.kept_out_handler,
    plan.PlanLocked: plan.locked_handler,
    Busy: common.busy_handler,
    WorkLost: common.lost_handler,
}
