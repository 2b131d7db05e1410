"""How often does the injected memory block hold the memories a question needs?

    python bench/eval_injection.py

A fictional user's 60 memories (stored oldest first, with filler between the
facts so that needed memories are of every age) and 30 questions, each
answered by one or two specific memories. For several word caps, it builds
the block the chat endpoint would inject for each question, newest-first
(the question ignored) and relevance-ranked (the question as the query), and
prints the share of needed memories that made it into the block.
"""

from __future__ import annotations

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.services.context import Caps  # noqa: E402
from memory_api.services import Services  # noqa: E402

FACTS = {
    "daughter": "My daughter is called Ada and she turns seven in May.",
    "son": "My son Leo plays the violin and practices every evening after school.",
    "wife": "My wife Sofia works as a pediatric nurse at the Croix-Rousse hospital.",
    "allergy": "I am allergic to peanuts and carry an epinephrine pen everywhere.",
    "diet": "I have been vegetarian since 2015 but I still eat eggs and cheese.",
    "city": "We live in Lyon, in the fourth arrondissement, near the Croix-Rousse market.",
    "job": "I work as a backend engineer at a logistics startup called Parcelly.",
    "manager": "My manager at Parcelly is Ines Moreau; our one-on-ones are on Thursdays.",
    "car": "Our car is a grey 2019 Renault Zoe, and the charging card is in the glovebox.",
    "dog": "We have a border collie named Pixel who needs two long walks a day.",
    "coffee": "I take my coffee black, no sugar, and never after four in the afternoon.",
    "marathon": "I am training for the Paris marathon in April; my target time is 3 hours 45.",
    "knee": "My left knee hurts after long runs, the physio said to ice it for 15 minutes.",
    "bank": "Our joint bank account is at Credit Mutuel; the advisor is called Marc.",
    "budget": "The family grocery budget is 650 euros per month.",
    "holiday": "Next summer holiday: two weeks in Porto in August, flights already booked.",
    "passport": "My passport expires in November 2027, Ada's expires next March.",
    "language": "I am learning Japanese on weekday mornings before work, level A2.",
    "piano": "Sofia wants to take piano lessons again; the teacher nearby charges 35 euros.",
    "birthday": "My birthday is on the 3rd of February; I prefer experiences to gifts.",
    "anniversary": "Our wedding anniversary is June 21st; we married in Annecy in 2012.",
    "doctor": "Our family doctor is Dr. Haddad, her practice closes at 6pm on Fridays.",
    "school": "Ada's school is Ecole Jean Jaures; pickup is at 16:30.",
    "wifi": "The home wifi network is called Pixelnet and the router is in the hallway.",
    "plants": "The balcony tomatoes need watering every two days in summer.",
    "book": "I am reading The Left Hand of Darkness by Ursula K. Le Guin.",
    "tv": "We are watching the second season of Slow Horses, episode four next.",
    "answers": "I prefer short answers with code examples in Python rather than long prose.",
    "timezone": "I am in the Central European timezone and rarely available before 8am.",
    "mother": "My mother Claire lives in Nantes and calls every Sunday evening.",
}
QUESTIONS = [
    ("How old will my daughter be this year?", ["daughter"]),
    ("What instrument does Leo play?", ["son"]),
    ("Where does my wife work?", ["wife"]),
    ("Can I eat the satay sauce at the restaurant, it has peanuts?", ["allergy"]),
    ("Suggest a dinner recipe that fits my diet.", ["diet", "allergy"]),
    ("Which market is close to where we live?", ["city"]),
    ("When is my next one-on-one with my manager?", ["manager"]),
    ("Where is the charging card for the car?", ["car"]),
    ("How many walks does Pixel the dog need?", ["dog"]),
    ("Can I have a coffee at five in the afternoon?", ["coffee"]),
    ("What is my marathon target time?", ["marathon"]),
    ("My knee hurts after running, what did the physio say?", ["knee"]),
    ("Who is our advisor at the bank?", ["bank"]),
    ("How much can we spend on groceries this month?", ["budget"]),
    ("Where are we going on holiday in August?", ["holiday"]),
    ("When does my passport expire?", ["passport"]),
    ("What level is my Japanese?", ["language"]),
    ("How much do piano lessons cost nearby?", ["piano"]),
    ("What should I get for my birthday?", ["birthday"]),
    ("When is our wedding anniversary?", ["anniversary"]),
    ("Until when is the doctor's practice open on Friday?", ["doctor"]),
    ("What time is school pickup for Ada?", ["school", "daughter"]),
    ("What is the name of the home wifi network?", ["wifi"]),
    ("How often should I water the tomatoes?", ["plants"]),
    ("Which book am I reading?", ["book"]),
    ("Which episode of Slow Horses is next?", ["tv"]),
    ("How do I like my answers formatted?", ["answers"]),
    ("Am I available at 7am for a call?", ["timezone"]),
    ("When does my mother usually call?", ["mother"]),
    ("Plan a Sunday for the family: who might call in the evening?", ["mother", "dog"]),
]
FILLER = [
    "Reminder: buy batteries for the smoke detector.",
    "The neighbours on the third floor are renovating until the end of the month, expect noise.",
    "I liked the ramen place near Bellecour, should go back with friends.",
    "Need to renew the home insurance contract before the deadline in autumn.",
    "The printer in the office jams with recycled paper, use the other tray.",
    "Tried a new running route along the Saone quays, about 12 kilometres.",
    "The recycling bins are collected on Tuesday mornings.",
    "Look into a standing desk for the home office, the current one is too low.",
    "Podcast recommendation from a colleague about distributed systems, episode on consensus.",
    "The bakery on the corner sells the best croissants on Saturday mornings.",
    "Remember to back up the laptop photos to the external drive.",
    "Idea for a weekend trip: hiking around Lake Annecy in early autumn.",
    "The kids' swimming lessons moved to Wednesday afternoons.",
    "Check whether the bike needs new brake pads before winter.",
    "Colleague recommended a keyboard with brown switches for less noise.",
    "The building's annual meeting is in December, bring the renovation proposal.",
    "Try the new Lebanese restaurant on rue Paul Bert.",
    "Cancel the unused streaming subscription before it renews.",
    "Gym membership is paused until the marathon training is over.",
    "Write a thank-you note to the neighbours for watering the plants.",
    "The electrician comes on the 12th between 9 and 11.",
    "Look for a summer camp for the kids in July.",
    "The car needs its tyre pressure checked before long trips.",
    "Buy a present for the office secret santa, budget 20 euros.",
    "The local library has a Japanese conversation club on Tuesdays.",
    "Order more dog food, the large bag lasts about five weeks.",
    "Compare electricity offers, the current contract ends in spring.",
    "Sofia prefers window seats on flights.",
    "The tram line C is closed for works on weekends this month.",
    "Save the link to the knitting tutorial for Ada's school project.",
]


def load(services: Services, user: str) -> dict[str, str]:
    """Store the memories oldest first, facts spread among the filler; returns fact name -> memory id."""
    rnd = random.Random(3)
    items = [("fact", name, text) for name, text in FACTS.items()] + [("filler", None, t) for t in FILLER]
    rnd.shuffle(items)
    ids = {}
    for kind, name, text in items:
        created = services.memories.create(user, text)
        if kind == "fact":
            ids[name] = created.memory.id
    return ids


def main() -> None:
    server = PrivateRedis()
    services = Services.build(Settings(redis_url=server.url))
    ids = load(services, "eval")
    caps = [30, 60, 120, 240, 480]
    print(f"{len(FACTS) + len(FILLER)} memories, {len(QUESTIONS)} questions needing "
          f"{sum(len(n) for _, n in QUESTIONS)} memories; token cap 2000 throughout")
    print(f"{'word cap':>9} {'newest-first':>13} {'relevance-ranked':>17}")
    for cap in caps:
        recall = {}
        for mode in ("newest", "relevance"):
            hits = needed = 0
            for question, names in QUESTIONS:
                selection = services.context.build("eval", caps=Caps(cap, 2000),
                                                   query=question if mode == "relevance" else None)
                chosen = set(selection.memory_ids)
                needed += len(names)
                hits += sum(ids[n] in chosen for n in names)
            recall[mode] = hits / needed
        print(f"{cap:>9} {recall['newest']:>12.0%} {recall['relevance']:>16.0%}")
    services.close()
    server.stop()


if __name__ == "__main__":
    main()
