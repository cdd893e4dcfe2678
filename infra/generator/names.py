"""Names for the people who commission: varied, British, and reproducible from the seed.

Why: handovers are between people; realistic names make the handover briefs and audit trails
read like the real thing without naming anyone real.
"""

from __future__ import annotations

import random

FIRST = (
    "Sarah", "James", "Amina", "David", "Priya", "Michael", "Helen", "Tariq", "Joanne", "Paul",
    "Grace", "Daniel", "Nadia", "Stephen", "Claire", "Imran", "Rachel", "Mark", "Funmi", "Peter",
    "Louise", "Andrew", "Bronwen", "Gareth", "Siobhan", "Kwame", "Emma", "Richard", "Yasmin",
    "Neil", "Catherine", "Sanjay", "Alison", "Tom", "Olga", "Chris", "Hannah", "Wei", "Janet",
    "Lee", "Fatima", "Martin", "Ruth", "Dev", "Kirsty", "Simon", "Aisha", "Ian", "Niamh", "Raj",
)
LAST = (
    "Morrison", "Khan", "Okafor", "Patel", "Hughes", "Walsh", "Begum", "Thompson", "Evans",
    "Clarke", "Nowak", "Ahmed", "Roberts", "Ward", "Chowdhury", "Kelly", "Lewis", "Mensah",
    "Singh", "Taylor", "Harrison", "Byrne", "Hussain", "Wright", "Green", "Osei", "Baker",
    "Shaw", "Rahman", "Murphy", "Davies", "Fletcher", "Chen", "Atkinson", "Iqbal", "Price",
    "Doyle", "Marsh", "Adeyemi", "Holmes", "Kaur", "Lawson", "Mistry", "Quinn", "Barker",
)


def person_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)
