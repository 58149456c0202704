"""The words pages show for the conference's values: what each phase means, the family's
signals and the audit log's events (Dutch message ids, translated when shown). The phases'
names and the roles are in rules/phases.py."""

from __future__ import annotations

from server.i18n import N_, Labels

PHASE_EXPLANATIONS = Labels(
    {
        "preparation": N_(
            "De coördinator bereidt de conferentie voor met de cliënt: wie er komen "
            "en welke vraag het plan moet beantwoorden."
        ),
        "information": N_(
            "Professionals en familie delen wat ze weten. Professionals met verplicht "
            "toezicht zeggen aan welke voorwaarden het plan moet voldoen."
        ),
        "private_time": N_(
            "De familie en het netwerk maken samen het plan, zonder de coördinator "
            "en zonder professionals. Neem er de tijd voor die nodig is."
        ),
        "presentation": N_(
            "De familie presenteert het plan. De coördinator stelt alleen "
            "verhelderende vragen; iedereen zegt of hij of zij het eens is."
        ),
        "action_team": N_(
            "Het actieteam voert het plan uit en komt minstens elke zes weken samen "
            "om het te bespreken en bij te stellen."
        ),
        "closed": N_("De conferentie is afgesloten. Het plan blijft te lezen."),
    }
)

SIGNAL_LABELS = Labels(
    {
        "question": N_("We hebben een vraag"),
        "plan_ready": N_("Ons plan is klaar"),
        "plan_withdrawn": N_("Ons plan is toch nog niet klaar"),
        "override": N_("De coördinator beëindigde de privétijd"),
        "back": N_("Terug naar de privétijd"),
    }
)

AUDIT_LABELS = Labels(
    {
        "conference_created": N_("Conferentie aangemaakt"),
        "conference_edited": N_("Conferentie bewerkt"),
        "participant_added": N_("Deelnemer toegevoegd"),
        "participant_removed": N_("Deelnemer verwijderd"),
        "email_changed": N_("E-mailadres voor herinneringen gewijzigd"),
        "link_issued": N_("Nieuwe link gemaakt"),
        "link_revoked": N_("Link ingetrokken"),
        "link_ended": N_("Eén link beëindigd"),
        "link_opened": N_("Link geopend"),
        "link_refused": N_("Link geweigerd"),
        "cards_printed": N_("Uitnodigingskaarten afgedrukt"),
        "room_joined": N_("Document geopend"),
        "room_refused": N_("Document geweigerd"),
        "phase_changed": N_("Fase veranderd"),
        "private_time_overridden": N_("Privétijd beëindigd zonder 'plan klaar'"),
        "signal": N_("Signaal van de familie"),
        "condition_added": N_("Voorwaarde gesteld"),
        "condition_deleted": N_("Voorwaarde verwijderd"),
        "condition_checked": N_("Voorwaarde beoordeeld"),
        "answered": N_("Antwoord op het plan"),
        "question_recorded": N_("Verhelderende vraag genoteerd"),
        "action_team_chosen": N_("Actieteam gekozen"),
        "plan_frozen": N_("Plan vastgesteld"),
        "plan_exported": N_("Kopie van het plan geopend"),
        "conference_exported": N_("Alle gegevens gedownload (zip)"),
        "follow_up_started": N_("Bijeenkomst actieteam begonnen"),
        "follow_up_closed": N_("Bijeenkomst actieteam afgesloten"),
        "rated": N_("Cijfers gegeven"),
        "admission_waiting": N_("Apparaat wacht tot de familie het binnenlaat"),
        "admission_granted": N_("Apparaat binnengelaten door de familie"),
        "admission_refused": N_("Apparaat niet binnengelaten door de familie"),
        "device_sent_out": N_("Apparaat door de familie weggestuurd"),
    }
)

# How a link was handed out (storage's LINK_CHANNELS), as the participant list names it.
CHANNEL_LABELS = Labels(
    {
        "message": N_("bericht"),
        "card": N_("kaart"),
        "mail": N_("e-mail"),
    }
)
