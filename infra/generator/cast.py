"""Who is who in the generated conurbation: its commissioners, their teams, its ~60 providers.

Why: DOMAIN.md's conurbation (three councils of about 1.1 m, 315 k and 205 k people, PCTs then
five CCGs then one ICB, an SHA then NHS England for specialised services) is fixed data; the
stories and the market draw on it. Names are invented: no real organisation is described.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from infra.generator.model import Commissioner, Provider

D = dt.date

# id, name, kind, area, since, mail domain, agreement code
COMMISSIONERS: tuple[tuple[str, str, str, str, dt.date, str, str], ...] = (
    (
        "kelham-cc",
        "Kelham City Council",
        "council",
        "kelham",
        D(1974, 4, 1),
        "kelham.gov.uk",
        "KCC",
    ),
    (
        "brayford-mbc",
        "Brayford Metropolitan Borough Council",
        "council",
        "brayford",
        D(1974, 4, 1),
        "brayford.gov.uk",
        "BMBC",
    ),
    (
        "stanmoor-mbc",
        "Stanmoor Metropolitan Borough Council",
        "council",
        "stanmoor",
        D(1974, 4, 1),
        "stanmoor.gov.uk",
        "SMBC",
    ),
    (
        "kelham-east-pct",
        "Kelham East Primary Care Trust",
        "pct",
        "kelham",
        D(2002, 4, 1),
        "kelhameastpct.nhs.uk",
        "KEPCT",
    ),
    (
        "kelham-west-pct",
        "Kelham West Primary Care Trust",
        "pct",
        "kelham",
        D(2002, 4, 1),
        "kelhamwestpct.nhs.uk",
        "KWPCT",
    ),
    (
        "brayford-pct",
        "Brayford Primary Care Trust",
        "pct",
        "brayford",
        D(2002, 4, 1),
        "brayfordpct.nhs.uk",
        "BPCT",
    ),
    (
        "stanmoor-pct",
        "Stanmoor Primary Care Trust",
        "pct",
        "stanmoor",
        D(2002, 4, 1),
        "stanmoorpct.nhs.uk",
        "SPCT",
    ),
    (
        "kd-sha",
        "Kelham and District Strategic Health Authority",
        "sha",
        "all",
        D(2002, 4, 1),
        "kdsha.nhs.uk",
        "KDSHA",
    ),
    (
        "nm-sha",
        "North Midlands Strategic Health Authority",
        "sha",
        "all",
        D(2006, 7, 1),
        "northmidlands.nhs.uk",
        "NMSHA",
    ),
    (
        "kelham-pct",
        "Kelham Primary Care Trust",
        "pct",
        "kelham",
        D(2006, 10, 1),
        "kelhampct.nhs.uk",
        "KPCT",
    ),
    ("nhse", "NHS Commissioning Board", "nhse", "all", D(2012, 10, 1), "england.nhs.uk", "NHSE"),
    (
        "kelham-north-ccg",
        "NHS Kelham North Clinical Commissioning Group",
        "ccg",
        "kelham",
        D(2013, 4, 1),
        "nhs.net",
        "KNCCG",
    ),
    (
        "kelham-south-ccg",
        "NHS Kelham South Clinical Commissioning Group",
        "ccg",
        "kelham",
        D(2013, 4, 1),
        "nhs.net",
        "KSCCG",
    ),
    (
        "kelham-central-ccg",
        "NHS Kelham Central Clinical Commissioning Group",
        "ccg",
        "kelham",
        D(2013, 4, 1),
        "nhs.net",
        "KCCCG",
    ),
    (
        "brayford-ccg",
        "NHS Brayford Clinical Commissioning Group",
        "ccg",
        "brayford",
        D(2013, 4, 1),
        "nhs.net",
        "BCCG",
    ),
    (
        "stanmoor-ccg",
        "NHS Stanmoor Clinical Commissioning Group",
        "ccg",
        "stanmoor",
        D(2013, 4, 1),
        "nhs.net",
        "SCCG",
    ),
    (
        "nm-csu",
        "North Midlands Commissioning Support Unit",
        "csu",
        "all",
        D(2013, 4, 1),
        "nmcsu.nhs.uk",
        "NMCSU",
    ),
    (
        "ce-csu",
        "Central England Commissioning Support Unit",
        "csu",
        "all",
        D(2015, 4, 1),
        "cecsu.nhs.uk",
        "CECSU",
    ),
    (
        "kv-icb",
        "NHS Kelham and Vale Integrated Care Board",
        "icb",
        "all",
        D(2022, 7, 1),
        "nhs.net",
        "KVICB",
    ),
)


@dataclass(frozen=True)
class TeamSpec:
    key: str
    commissioner_id: str
    remit: str
    area: str
    rate: float  # new agreements a year
    since: dt.date | None = None  # default: the commissioner's establishment
    started_by_reform: bool = False


TEAMS: tuple[TeamSpec, ...] = (
    TeamSpec("kelham-cc/mh", "kelham-cc", "council_mh", "kelham", 10.0),
    TeamSpec("kelham-cc/carers", "kelham-cc", "carers", "kelham", 1.6),
    TeamSpec("kelham-cc/ph", "kelham-cc", "public_health", "kelham", 2.2, D(2013, 4, 1), True),
    TeamSpec("brayford-mbc/mh", "brayford-mbc", "council_mh", "brayford", 3.0),
    TeamSpec("brayford-mbc/carers", "brayford-mbc", "carers", "brayford", 0.6),
    TeamSpec(
        "brayford-mbc/ph", "brayford-mbc", "public_health", "brayford", 0.8, D(2013, 4, 1), True
    ),
    TeamSpec("stanmoor-mbc/mh", "stanmoor-mbc", "council_mh", "stanmoor", 2.0),
    TeamSpec("stanmoor-mbc/carers", "stanmoor-mbc", "carers", "stanmoor", 0.5),
    TeamSpec(
        "stanmoor-mbc/ph", "stanmoor-mbc", "public_health", "stanmoor", 0.5, D(2013, 4, 1), True
    ),
    TeamSpec("kelham-east-pct/mh", "kelham-east-pct", "nhs_mh", "kelham", 3.0),
    TeamSpec("kelham-west-pct/mh", "kelham-west-pct", "nhs_mh", "kelham", 3.0),
    TeamSpec("kelham-pct/mh", "kelham-pct", "nhs_mh", "kelham", 6.0, None, True),
    TeamSpec("brayford-pct/mh", "brayford-pct", "nhs_mh", "brayford", 2.0),
    TeamSpec("stanmoor-pct/mh", "stanmoor-pct", "nhs_mh", "stanmoor", 1.4),
    TeamSpec("kd-sha/spec", "kd-sha", "specialised", "all", 5.0),
    TeamSpec("nm-sha/spec", "nm-sha", "specialised", "all", 7.0, None, True),
    TeamSpec("nhse/spec", "nhse", "specialised", "all", 8.0, D(2013, 4, 1), True),
    TeamSpec("kelham-north-ccg/mh", "kelham-north-ccg", "nhs_mh", "kelham", 2.0, None, True),
    TeamSpec("kelham-south-ccg/mh", "kelham-south-ccg", "nhs_mh", "kelham", 2.0, None, True),
    TeamSpec("kelham-central-ccg/mh", "kelham-central-ccg", "nhs_mh", "kelham", 2.4, None, True),
    TeamSpec("brayford-ccg/mh", "brayford-ccg", "nhs_mh", "brayford", 2.0, None, True),
    TeamSpec("stanmoor-ccg/mh", "stanmoor-ccg", "nhs_mh", "stanmoor", 1.4, None, True),
    TeamSpec("kv-icb/kelham", "kv-icb", "nhs_mh", "kelham", 5.5, None, True),
    TeamSpec("kv-icb/brayford", "kv-icb", "nhs_mh", "brayford", 2.0, None, True),
    TeamSpec("kv-icb/stanmoor", "kv-icb", "nhs_mh", "stanmoor", 1.4, None, True),
)

ALL = ("all",)
K, B, S = ("kelham",), ("brayford",), ("stanmoor",)
BS = ("brayford", "stanmoor")
KB = ("kelham", "brayford")
NHS_CLINICAL = (
    "community_mental_health",
    "acute_inpatient",
    "crisis_support",
    "early_intervention_psychosis",
    "iapt",
    "eating_disorders",
)
COUNSEL = ("advice_and_counselling", "recovery", "crisis_support", "peer_support", "iapt")

# id, name, sector, size band, founded, categories, areas
PROVIDERS: tuple[tuple[str, str, str, str, dt.date, tuple[str, ...], tuple[str, ...]], ...] = (
    # NHS trusts
    (
        "kelham-mh-trust",
        "Kelham Mental Health NHS Trust",
        "nhs",
        "major",
        D(2001, 4, 1),
        NHS_CLINICAL,
        K,
    ),
    (
        "bs-partnership",
        "Brayford and Stanmoor Partnership NHS Trust",
        "nhs",
        "major",
        D(2002, 4, 1),
        NHS_CLINICAL,
        BS,
    ),
    (
        "kelham-community-trust",
        "Kelham Community Health Services NHS Trust",
        "nhs",
        "large",
        D(2011, 4, 1),
        ("crisis_support", "community_mental_health"),
        K,
    ),
    (
        "ravensmoor-ft",
        "Ravensmoor Forensic NHS Foundation Trust",
        "nhs",
        "major",
        D(1999, 4, 1),
        ("secure_care",),
        ALL,
    ),
    (
        "kelham-hospitals",
        "Kelham Teaching Hospitals NHS Foundation Trust",
        "nhs",
        "major",
        D(2004, 4, 1),
        ("crisis_support",),
        K,
    ),
    # private firms
    (
        "priorwood",
        "Priorwood Healthcare Ltd",
        "private",
        "major",
        D(1996, 5, 1),
        ("secure_care", "eating_disorders", "acute_inpatient"),
        ALL,
    ),
    (
        "oakhaven",
        "Oakhaven Hospitals Ltd",
        "private",
        "large",
        D(2003, 2, 1),
        ("secure_care", "acute_inpatient"),
        ALL,
    ),
    (
        "maple-lodge",
        "Maple Lodge Clinic Ltd",
        "private",
        "medium",
        D(2007, 9, 1),
        ("eating_disorders",),
        ALL,
    ),
    (
        "evergreen-care",
        "Evergreen Care Homes Ltd",
        "private",
        "large",
        D(1998, 6, 1),
        ("residential_care",),
        ALL,
    ),
    (
        "careline",
        "CareLine Homecare Ltd",
        "private",
        "large",
        D(2001, 1, 15),
        ("domiciliary_care",),
        ALL,
    ),
    (
        "brightpath",
        "Brightpath Supported Living Ltd",
        "private",
        "medium",
        D(2009, 3, 1),
        ("supported_housing", "domiciliary_care"),
        KB,
    ),
    (
        "thrive-employment",
        "Thrive Employment Services Ltd",
        "private",
        "medium",
        D(2010, 1, 4),
        ("employment_support",),
        ALL,
    ),
    (
        "insight-therapies",
        "Insight Psychological Therapies Ltd",
        "private",
        "medium",
        D(2013, 6, 1),
        ("iapt", "advice_and_counselling"),
        ALL,
    ),
    (
        "homestead",
        "Homestead Residential Ltd",
        "private",
        "small",
        D(1992, 8, 1),
        ("residential_care",),
        BS,
    ),
    ("calmly-online", "Calmly Online Ltd", "private", "medium", D(2017, 2, 1), ("iapt",), ALL),
    # third sector: major
    (
        "together-wellbeing",
        "Together for Wellbeing",
        "third_sector",
        "major",
        D(1979, 3, 1),
        ("supported_housing", "recovery", "crisis_support", "advocacy"),
        ALL,
    ),
    (
        "turning-tide",
        "Turning Tide",
        "third_sector",
        "major",
        D(1969, 5, 1),
        ("supported_housing", "employment_support", "peer_support", "recovery"),
        ALL,
    ),
    (
        "nm-housing",
        "North Midlands Housing Association",
        "third_sector",
        "major",
        D(1965, 1, 1),
        ("supported_housing",),
        ALL,
    ),
    # large
    ("kelham-mind", "Kelham Mind", "third_sector", "large", D(1971, 9, 1), COUNSEL, K),
    (
        "pathways-trust",
        "Pathways Recovery Trust",
        "third_sector",
        "large",
        D(1988, 4, 1),
        ("recovery", "supported_housing", "day_activities"),
        KB,
    ),
    (
        "working-minds",
        "Working Minds",
        "third_sector",
        "large",
        D(1995, 10, 1),
        ("employment_support",),
        ALL,
    ),
    (
        "carers-first",
        "Carers First North Midlands",
        "third_sector",
        "large",
        D(1990, 6, 1),
        ("carers_support",),
        ALL,
    ),
    # medium
    (
        "kelham-advocacy",
        "Kelham Advocacy Network",
        "third_sector",
        "medium",
        D(1994, 2, 1),
        ("advocacy",),
        K,
    ),
    (
        "sanctuary-crisis",
        "Sanctuary Crisis House",
        "third_sector",
        "medium",
        D(2001, 11, 1),
        ("crisis_support",),
        KB,
    ),
    ("brayford-mind", "Brayford Mind", "third_sector", "medium", D(1975, 3, 1), COUNSEL, B),
    (
        "stanmoor-mind",
        "Stanmoor and District Mind",
        "third_sector",
        "medium",
        D(1980, 7, 1),
        COUNSEL,
        S,
    ),
    (
        "openway",
        "Openway Personalisation Services CIC",
        "third_sector",
        "medium",
        D(2008, 4, 1),
        ("prevention_and_personalisation",),
        K,
    ),
    (
        "stanmoor-carers",
        "Stanmoor Carers Centre",
        "third_sector",
        "medium",
        D(1996, 5, 1),
        ("carers_support",),
        S,
    ),
    (
        "brayford-advocacy",
        "Brayford Independent Advocacy",
        "third_sector",
        "medium",
        D(1998, 9, 1),
        ("advocacy",),
        BS,
    ),
    (
        "kelham-foyer",
        "Kelham Foyer Trust",
        "third_sector",
        "medium",
        D(1993, 1, 1),
        ("supported_housing",),
        K,
    ),
    (
        "kelham-counselling",
        "Kelham Counselling Centre",
        "third_sector",
        "medium",
        D(1984, 6, 1),
        ("advice_and_counselling", "iapt"),
        K,
    ),
    (
        "bridges-coop",
        "Bridges Employment Co-operative",
        "third_sector",
        "medium",
        D(2006, 5, 1),
        ("employment_support",),
        KB,
    ),
    (
        "step-forward",
        "Step Forward Employment Trust",
        "third_sector",
        "medium",
        D(1999, 2, 1),
        ("employment_support",),
        ALL,
    ),
    (
        "brayford-money-advice",
        "Brayford Money Advice",
        "third_sector",
        "medium",
        D(1989, 1, 1),
        ("advice_and_counselling",),
        B,
    ),
    (
        "prevention-matters",
        "Prevention Matters",
        "third_sector",
        "medium",
        D(2003, 4, 1),
        ("prevention_and_personalisation", "recovery"),
        ALL,
    ),
    # small
    (
        "asha-centre",
        "Asha Women's Centre",
        "third_sector",
        "small",
        D(1997, 3, 1),
        ("advice_and_counselling", "peer_support"),
        K,
    ),
    (
        "voices-together",
        "Voices Together Kelham",
        "third_sector",
        "small",
        D(2004, 1, 1),
        ("peer_support", "advocacy"),
        K,
    ),
    (
        "brayford-young-carers",
        "Brayford Young Carers Project",
        "third_sector",
        "small",
        D(2000, 9, 1),
        ("carers_support",),
        B,
    ),
    (
        "sahara-wellbeing",
        "Sahara Community Wellbeing",
        "third_sector",
        "small",
        D(2005, 9, 1),
        ("advice_and_counselling",),
        K,
    ),
    (
        "lighthouse-arts",
        "Lighthouse Arts for Wellbeing",
        "third_sector",
        "small",
        D(2003, 5, 1),
        ("day_activities",),
        KB,
    ),
    (
        "kelham-deaf-wellbeing",
        "Kelham Deaf Wellbeing",
        "third_sector",
        "small",
        D(2002, 2, 1),
        ("advocacy",),
        K,
    ),
    (
        "brayford-recovery-college",
        "Brayford Recovery College CIC",
        "third_sector",
        "small",
        D(2014, 1, 6),
        ("recovery",),
        B,
    ),
    (
        "haven-refugee",
        "Haven Refugee Wellbeing",
        "third_sector",
        "small",
        D(2008, 3, 1),
        ("advice_and_counselling",),
        K,
    ),
    ("peerlink", "PeerLink Kelham", "third_sector", "small", D(2010, 10, 1), ("peer_support",), K),
    (
        "side-by-side",
        "Side by Side Advocacy",
        "third_sector",
        "small",
        D(2006, 6, 1),
        ("advocacy",),
        BS,
    ),
    (
        "hope-street",
        "Hope Street Day Centre",
        "third_sector",
        "small",
        D(1986, 4, 1),
        ("day_activities",),
        K,
    ),
    (
        "kelham-listening-line",
        "Kelham Listening Line",
        "third_sector",
        "small",
        D(1978, 1, 1),
        ("crisis_support",),
        K,
    ),
    (
        "family-matters",
        "Family Matters Stanmoor",
        "third_sector",
        "small",
        D(2003, 10, 1),
        ("carers_support",),
        S,
    ),
    (
        "new-leaf-coop",
        "New Leaf Housing Co-operative",
        "third_sector",
        "small",
        D(1991, 7, 1),
        ("supported_housing",),
        B,
    ),
    (
        "acmh-kelham",
        "African Caribbean Mental Health Kelham",
        "third_sector",
        "small",
        D(1989, 5, 1),
        ("advocacy", "peer_support"),
        K,
    ),
    (
        "stanmoor-young-carers",
        "Stanmoor Young Adult Carers",
        "third_sector",
        "small",
        D(2009, 2, 1),
        ("carers_support",),
        S,
    ),
    # micro
    (
        "stanmoor-hearing-voices",
        "Stanmoor Hearing Voices Group",
        "third_sector",
        "micro",
        D(2007, 3, 1),
        ("peer_support",),
        S,
    ),
    (
        "kelham-mens-shed",
        "Kelham Men's Shed",
        "third_sector",
        "micro",
        D(2012, 3, 1),
        ("day_activities",),
        K,
    ),
    (
        "open-door",
        "Open Door Drop-In",
        "third_sector",
        "micro",
        D(2001, 6, 1),
        ("peer_support", "day_activities"),
        B,
    ),
    (
        "green-roots",
        "Green Roots Stanmoor",
        "third_sector",
        "micro",
        D(2010, 4, 1),
        ("day_activities",),
        S,
    ),
    (
        "calm-waters",
        "Calm Waters Counselling",
        "third_sector",
        "micro",
        D(2008, 1, 1),
        ("advice_and_counselling",),
        S,
    ),
    (
        "rise-recovery",
        "Rise Recovery Community",
        "third_sector",
        "micro",
        D(2011, 6, 1),
        ("recovery", "peer_support"),
        K,
    ),
    # sector or size not known when registered
    (
        "northside-hub",
        "Northside Wellbeing Hub",
        "unknown",
        "unknown",
        D(2009, 1, 1),
        ("advice_and_counselling", "day_activities"),
        K,
    ),
    (
        "okafor-counselling",
        "J. Okafor Counselling Services",
        "unknown",
        "unknown",
        D(2004, 5, 1),
        ("advice_and_counselling",),
        B,
    ),
    (
        "kelham-college",
        "Kelham College",
        "public_other",
        "major",
        D(1960, 9, 1),
        ("employment_support",),
        K,
    ),
)


def commissioners() -> list[Commissioner]:
    return [
        Commissioner(cid, name, kind, area, since, mail, code)
        for cid, name, kind, area, since, mail, code in COMMISSIONERS
    ]


def providers(rng: random.Random) -> list[Provider]:
    """The providers with plausible identifiers (charity, company or ODS numbers)."""
    out = []
    for pid, name, sector, band, since, cats, areas in PROVIDERS:
        ids: dict[str, str] = {}
        if sector == "third_sector":
            if "CIC" in name or "Co-operative" in name:
                ids["company_number"] = f"{rng.randint(4_000_000, 9_999_999):08d}"
            else:
                ids["charity_number"] = str(rng.randint(500_000, 1_199_999))
        elif sector == "private":
            ids["company_number"] = f"{rng.randint(1_000_000, 9_999_999):08d}"
        elif sector == "nhs":
            ids["ods_code"] = "R" + "".join(
                rng.choice("ABCDEFGHJKLMNPQRTVWXY0123456789") for _ in range(2)
            )
        out.append(Provider(pid, name, sector, band, since, cats, areas, ids))
    return out
