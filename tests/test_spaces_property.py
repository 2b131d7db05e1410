"""A property of shared spaces, checked on the real service and Redis: after any sequence of
memberships, role changes, writes and deletions by several users, every read a user can make holds
only their own memories and those of the spaces they are a member of at that moment, and every
permitted or refused operation is the one the roles say."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings as hypothesis_settings, strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from helpers import auth

USERS = ("ann", "ben", "cat")
ROLES = ("reader", "writer", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}


def test_every_read_holds_only_what_the_reader_may_see(app, services, redis_client):
    client = app.test_client()

    class Spaces(RuleBasedStateMachine):
        spaces = Bundle("spaces")

        @initialize()
        def start(self):
            redis_client.flushall()
            self.headers = {u: auth(services.keys.create(user=u)[0]) for u in USERS}
            self.members: dict[str, dict[str, str]] = {}  # space -> user -> role
            self.memories: dict[str | None, dict[str, str]] = {}  # owner (space id, or "user:<u>") -> id -> content
            self.counter = 0

        def _content(self, who: str) -> str:
            self.counter += 1
            return f"note {self.counter} by {who} about lunch"

        def role(self, space: str, user: str) -> str | None:
            return self.members.get(space, {}).get(user)

        @rule(target=spaces, user=st.sampled_from(USERS))
        def create_space(self, user):
            resp = client.post("/v1/spaces", json={"name": f"space of {user}"}, headers=self.headers[user])
            assert resp.status_code == 200, resp.json
            self.members[resp.json["id"]] = {user: "admin"}
            self.memories[resp.json["id"]] = {}
            return resp.json["id"]

        @rule(space=spaces, actor=st.sampled_from(USERS), other=st.sampled_from(USERS), role=st.sampled_from(ROLES))
        def add_member(self, space, actor, other, role):
            resp = client.post(f"/v1/spaces/{space}/members", json={"user": other, "role": role},
                               headers=self.headers[actor])
            mine = self.role(space, actor)
            if mine is None:
                assert resp.status_code == 404
            elif mine != "admin":
                assert resp.status_code == 403
            elif self.role(space, other) is not None:
                assert resp.status_code == 409
            else:
                assert resp.status_code == 200, resp.json
                self.members[space][other] = role

        @rule(space=spaces, actor=st.sampled_from(USERS), other=st.sampled_from(USERS), role=st.sampled_from(ROLES))
        def change_role(self, space, actor, other, role):
            resp = client.patch(f"/v1/spaces/{space}/members/{other}", json={"role": role},
                                headers=self.headers[actor])
            mine, theirs = self.role(space, actor), self.role(space, other)
            admins = [u for u, r in self.members.get(space, {}).items() if r == "admin"]
            if mine is None:
                assert resp.status_code == 404
            elif mine != "admin":
                assert resp.status_code == 403
            elif theirs is None:
                assert resp.status_code == 404
            elif theirs == "admin" and role != "admin" and len(admins) == 1:
                assert resp.status_code == 409
            else:
                assert resp.status_code == 200, resp.json
                self.members[space][other] = role

        @rule(space=spaces, actor=st.sampled_from(USERS), other=st.sampled_from(USERS))
        def remove_member(self, space, actor, other):
            resp = client.delete(f"/v1/spaces/{space}/members/{other}", headers=self.headers[actor])
            mine, theirs = self.role(space, actor), self.role(space, other)
            admins = [u for u, r in self.members.get(space, {}).items() if r == "admin"]
            if mine is None:
                assert resp.status_code == 404
            elif mine != "admin" and actor != other:
                assert resp.status_code == 403
            elif theirs is None:
                assert resp.status_code == 404
            elif theirs == "admin" and len(admins) == 1:
                assert resp.status_code == 409
            else:
                assert resp.status_code == 200, resp.json
                del self.members[space][other]

        @rule(space=st.one_of(st.none(), spaces), actor=st.sampled_from(USERS))
        def write(self, space, actor):
            content = self._content(actor)
            resp = client.post("/v1/memory", json={"content": content, "space": space}, headers=self.headers[actor])
            owner = f"user:{actor}" if space is None else space
            mine = "admin" if space is None else self.role(space, actor)
            if mine is None:
                assert resp.status_code == 404
            elif RANK[mine] < RANK["writer"]:
                assert resp.status_code == 403
            else:
                assert resp.status_code == 200, resp.json
                assert resp.json["space"] == space and resp.json["author"] == actor
                self.memories.setdefault(owner, {})[resp.json["id"]] = content

        @rule(space=spaces, actor=st.sampled_from(USERS))
        def delete_space(self, space, actor):
            resp = client.delete(f"/v1/spaces/{space}?confirm=true", headers=self.headers[actor])
            mine = self.role(space, actor)
            if mine is None:
                assert resp.status_code == 404
            elif mine != "admin":
                assert resp.status_code == 403
            else:
                assert resp.status_code == 200, resp.json
                self.members[space] = {}
                self.memories[space] = {}

        def readable(self, user: str) -> dict[str, str]:
            allowed = dict(self.memories.get(f"user:{user}", {}))
            for space, members in self.members.items():
                if user in members:
                    allowed.update(self.memories.get(space, {}))
            return allowed

        @invariant()
        def every_read_is_what_the_reader_may_see(self):
            if not hasattr(self, "headers"):
                return
            every_id = {i: c for owned in self.memories.values() for i, c in owned.items()}
            for user in USERS:
                h = self.headers[user]
                allowed = self.readable(user)
                own = client.get("/v1/memory?limit=100", headers=h).json["data"]
                assert {m["id"] for m in own} == set(self.memories.get(f"user:{user}", {}))
                listed = {s["id"]: s["role"] for s in client.get("/v1/spaces", headers=h).json["data"]}
                assert listed == {s: m[user] for s, m in self.members.items() if user in m}
                for space, members in self.members.items():
                    resp = client.get(f"/v1/memory?space={space}&limit=100", headers=h)
                    if user in members:
                        assert {m["id"] for m in resp.json["data"]} == set(self.memories[space])
                    else:
                        assert resp.status_code == 404
                block = client.post("/v1/memory/context", json={},
                                    headers=h).json
                assert set(block["memory_ids"]) <= set(allowed)
                found = client.get("/v1/memory/search?query=lunch&limit=100", headers=h).json["data"]
                assert {m["id"] for m in found} <= set(allowed)
                for memory_id, content in every_id.items():
                    resp = client.get(f"/v1/memory/{memory_id}", headers=h)
                    if memory_id in allowed:
                        assert resp.status_code == 200 and resp.json["content"] == content
                    else:
                        assert resp.status_code == 404 and content not in resp.get_data(as_text=True)

    run_state_machine_as_test(Spaces, settings=hypothesis_settings(
        max_examples=int(os.environ.get("SPACES_EXAMPLES", 15)), stateful_step_count=12, deadline=None,
        suppress_health_check=list(HealthCheck)))
