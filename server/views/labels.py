"""The words pages show for the conference's values: what each phase means and the family's
signals (Dutch message ids, translated when shown); the audit log's sentences are in
rules/audit.py. The phases' names and the roles are in rules/phases.py."""

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
