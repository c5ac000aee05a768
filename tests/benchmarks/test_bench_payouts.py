"""The payout benchmark still runs end to end and still checks what it claims: a small count, fast."""

import pytest

from benchmarks import bench_payouts
from payments.models import Payout


@pytest.mark.django_db(transaction=True)
def test_the_payout_benchmark_pays_each_payout_once_and_reports_both_rates(monkeypatch):
    monkeypatch.delenv("BENCH_EMULATOR_PORT", raising=False)  # a free port, whatever runs beside
    lines: list[str] = []

    figures = bench_payouts.run(count=20, workers=2, out=lines.append)

    assert figures["raw_per_second"] > 0
    assert figures["release_per_second"] > 0
    assert figures["ratio"] == pytest.approx(figures["release_per_second"] / figures["raw_per_second"])
    assert any(line.strip().startswith("verified: 20 payouts paid once each") for line in lines)
    assert Payout.objects.filter(status=Payout.Status.PAID).count() == 20


def test_the_check_refuses_a_payout_paid_twice():
    problems = bench_payouts.transfer_problems(
        payouts=[_payout(1, "tr_a")],
        by_payout={"1": [_transfer("tr_a"), _transfer("tr_b")]},
        raw=1,
        count=1,
    )

    assert problems == ["1 payouts with more than one transfer at the emulator, e.g. ['1']"]


def test_the_check_refuses_a_payout_without_its_transfer():
    problems = bench_payouts.transfer_problems(payouts=[_payout(1, "tr_a")], by_payout={}, raw=1, count=1)

    assert "payout 1 has no transfer at the emulator" in problems


def _payout(pk, transfer_id):
    return Payout(pk=pk, transfer_id=transfer_id, status=Payout.Status.PAID, amount=4500)


def _transfer(transfer_id):
    return {"id": transfer_id, "amount": 4500, "source_transaction": "ch_x", "transfer_group": "g"}
