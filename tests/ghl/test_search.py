from __future__ import annotations

from mcpbridge.ghl.catalogue import Catalogue
from tests.ghl.search_requests import REQUESTS


def rank_of(catalogue: Catalogue, query: str, expected: str) -> int | None:
    found = [op.id for op in catalogue.search(query, limit=10)]
    return found.index(expected) + 1 if expected in found else None


def test_the_evaluation_names_real_operations_and_enough_requests(catalogue: Catalogue) -> None:
    assert len(REQUESTS) >= 60
    assert len({query for query, _ in REQUESTS}) == len(REQUESTS)
    assert [op_id for _, op_id in REQUESTS if catalogue.get(op_id) is None] == []


def test_everyday_requests_find_their_operation_first_or_near_the_top(
    catalogue: Catalogue,
) -> None:
    ranks = {query: rank_of(catalogue, query, expected) for query, expected in REQUESTS}
    first = sum(rank == 1 for rank in ranks.values()) / len(ranks)
    top3 = sum(rank is not None and rank <= 3 for rank in ranks.values()) / len(ranks)
    misses = {query: rank for query, rank in ranks.items() if rank != 1}
    assert first >= 0.75, misses
    assert top3 >= 0.90, misses


def test_users_words_reach_ghls_words(catalogue: Catalogue) -> None:
    assert rank_of(catalogue, "texting a lead", "conversations.send_a_new_message") == 1
    assert rank_of(catalogue, "change the deal's stage", "opportunities.update_opportunity") == 1
    assert rank_of(catalogue, "add a team member", "users.create_user") == 1
    assert rank_of(catalogue, "quotes", "invoices.list_estimates") == 1


def test_short_words_match_nothing_on_their_own(catalogue: Catalogue) -> None:
    assert catalogue.search("a to the of") == []
    # "a" once matched every word starting with it; now only whole stems count.
    assert catalogue.search("a") == []


def test_search_finds_operations_by_words_and_group(catalogue: Catalogue) -> None:
    assert catalogue.search("free slots")[0].id == "calendars.get_slots"
    in_group = catalogue.search("", group="campaigns")
    assert [op.id for op in in_group] == ["campaigns.get_campaigns"]
    assert [op.group for op in catalogue.search("delete", group="invoices")] == ["invoices"] * 5
    assert catalogue.search("zzzz-nothing") == []
