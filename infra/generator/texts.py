"""The words people type: rationales, handover notes and titles, varied but reproducible.

Why: the audit views flag missing or formulaic justifications; a demo ledger whose rationales
read like real decision notes (including the thin ones) makes those views worth looking at.
"""

from __future__ import annotations

import random

ROLLOVER = (
    "service performing well; no capacity to run a tender this year",
    "annual grant renewed at the grant panel; outcomes met",
    "re-commissioned for a further year pending the commissioning strategy",
    "provider is the only local organisation with this expertise",
    "rolled over on existing terms; monitoring returns satisfactory",
    "contract management review found good value; renewed without competition",
    "continuity of care for current service users outweighs the case for tendering",
    "rolled over as part of the annual budget setting; value held flat",
    "renewed under delegated authority; market testing deferred",
    "no alternative provider identified in soft market testing",
)
ROLLOVER_CUT = (
    "renewed with a reduced value to meet the council's savings target",
    "rolled over with an efficiency saving agreed with the provider",
    "budget reduction applied across all grants this year; service renewed",
)
ROLLOVER_UPLIFT = (
    "renewed with an inflationary uplift",
    "rolled over with the national tariff uplift applied",
    "renewed with additional investment (Mental Health Investment Standard)",
)
EXTENSION_REFORM = (
    "short extension while the new commissioning organisation is set up",
    "extended for three months pending transfer to the new commissioner",
    "extended until the new organisation confirms its commissioning intentions",
    "holding extension: successor body has not yet agreed its budget",
    "extended to avoid a gap in service during the transition",
    "short extension while responsibility for funding is agreed between commissioners",
)
EXTENSION = (
    "extension option in the contract exercised",
    "extended while the re-procurement is completed",
    "tender delayed; extended to maintain the service",
    "extended pending the outcome of the service review",
    "extended to align with the end of the financial year",
    "tender abandoned after the specification was withdrawn; extended meanwhile",
)
EXTENSION_COVID = (
    "extended under the Covid-19 emergency procurement guidance",
    "procurement paused during the pandemic; service extended",
)
DIRECT_AWARD = (
    "only provider able to start within the timescale",
    "specialist provider; no other provider in the area",
    "pilot funding awarded directly to the provider who proposed it",
    "urgent need; direct award under the council's standing orders",
    "continuation of a service transferred from another commissioner",
    "small value below the threshold for competition",
    "user-led organisation supported directly to build capacity",
)
TERMINATION = (
    "provider failed to meet the quality standards after an improvement notice",
    "provider withdrew from the contract with three months' notice",
    "terminated by mutual agreement; service brought in house",
    "safeguarding concerns; contract terminated with immediate effect",
    "provider ceased trading",
)
DECOMMISSION = (
    "service decommissioned to meet budget reductions",
    "decommissioned: needs now met by the new integrated pathway",
    "service no longer meets strategic priorities; decommissioned after consultation",
    "low uptake; service decommissioned",
    "grant funding withdrawn in the budget round",
)
EXPIRY = (
    "term ended; not re-commissioned",
    "lapsed at the end of the term",
    None,
    None,
)
HANDOVER_CHURN = (
    "commissioning lead left the organisation",
    "commissioning lead promoted; portfolio reassigned",
    "post deleted in the restructure",
    "commissioning lead on long-term leave",
    "portfolio rebalanced across the team",
)
HANDOVER_NOTES = (
    "No handover meeting took place; files on the shared drive are incomplete.",
    "Thirty-minute handover call. Several providers say they have sent monitoring returns "
    "that cannot be found.",
    "Handover notes written; contract copies missing for the older grants.",
    "Outgoing lead left at two weeks' notice. Ask providers for copies of their agreements.",
    "Good written handover; key contacts and review dates listed.",
    "Interim cover only. The history behind the local strategy is not written down anywhere.",
    "Providers have been asked to re-send their service specifications.",
    "Handover by e-mail. Several extensions are running at once; check each end date.",
)
HANDOVER_REFORM = (
    "statutory transfer of commissioning responsibilities",
    "portfolio transferred to the successor organisation",
    "responsibility moved in the national reorganisation",
)


def pick(rng: random.Random, options: tuple[str | None, ...]) -> str | None:
    return rng.choice(options)


def say(rng: random.Random, options: tuple[str, ...]) -> str:
    return rng.choice(options)


CATEGORY_TITLES = {
    "advocacy": "Independent mental health advocacy",
    "supported_housing": "Supported housing for people with mental health needs",
    "employment_support": "Employment support",
    "advice_and_counselling": "Advice and counselling",
    "carers_support": "Support for carers",
    "iapt": "Psychological therapies (IAPT)",
    "crisis_support": "Crisis support",
    "early_intervention_psychosis": "Early intervention in psychosis",
    "community_mental_health": "Community mental health team",
    "acute_inpatient": "Acute inpatient placement",
    "secure_care": "Secure (forensic) care placement",
    "eating_disorders": "Eating disorder treatment",
    "prevention_and_personalisation": "Prevention and personalisation",
    "peer_support": "Peer support",
    "recovery": "Recovery service",
    "domiciliary_care": "Home support",
    "residential_care": "Residential care placement",
    "day_activities": "Day activities",
}
TITLE_FLAVOURS = {
    "advocacy": ("", "for BME communities", "(community)", "for Deaf people"),
    "supported_housing": ("", "(floating support)", "(accommodation-based)", "for young adults"),
    "employment_support": ("", "(IPS)", "and volunteering", "for people in secondary care"),
    "advice_and_counselling": (
        "",
        "(welfare benefits)",
        "for women",
        "(debt advice)",
        "for refugees",
    ),
    "carers_support": ("", "for young carers", "for young adult carers", "for adult carers"),
    "iapt": ("", "(step 2)", "(step 3)", "(digital)", "(long-term conditions)"),
    "crisis_support": ("", "(crisis house)", "(helpline)", "(street triage)", "(safe haven)"),
    "peer_support": ("", "(hearing voices)", "(drop-in)", "(peer mentors)"),
    "recovery": ("", "(recovery college)", "(wellbeing hub)"),
    "day_activities": ("", "(arts)", "(men's group)", "(gardening)"),
    "prevention_and_personalisation": ("", "(suicide prevention)", "(social prescribing)"),
}


def title(rng: random.Random, category: str, area: str) -> str:
    base = CATEGORY_TITLES.get(category, category.replace("_", " ").capitalize())
    flavour = rng.choice(TITLE_FLAVOURS.get(category, ("",)))
    words = [base, flavour, f"- {area.title()}"]
    return " ".join(w for w in words if w)
