from memory.ledger import Database
from memory.ledger.audit import AuditLog, AuditRecord

BOTH_LEDGERS = True


def _record(**overrides) -> AuditRecord:
    values = dict(
        request_id="req-1",
        tenant="acme",
        user="u1",
        model="gpt-x",
        rule="default",
        injected=[
            {
                "id": "bel_1",
                "statement": "Likes tea",
                "context": "preferences",
                "confidence": 0.9,
                "score": 0.71,
            }
        ],
        rendered="<user_model>...</user_model>",
        template="default",
        template_sha256="ab" * 32,
        tokens=42,
        retrieve_ms=1.5,
        render_ms=0.25,
        upstream_ms=80.0,
        status=200,
        error=None,
        stream=True,
        degraded_reason="EmbeddingError: down",
        arm="treatment",
        user_message="Which tea should I buy?",
        reply="Try a Darjeeling.",
    )
    values.update(overrides)
    return AuditRecord(**values)


def test_every_field_survives_the_round_trip(ledger_target):
    db = Database(ledger_target)
    log = AuditLog(db, store_rendered=True, retention_days=30)
    record = _record()
    log.add(record)
    got = log.get("acme", "req-1")
    assert got == {
        "request_id": "req-1",
        "at": record.at,
        "tenant": "acme",
        "user": "u1",
        "model": "gpt-x",
        "rule": "default",
        "injected": record.injected,
        "rendered": record.rendered,
        "template": "default",
        "template_sha256": "ab" * 32,
        "tokens": 42,
        "status": 200,
        "error": None,
        "stream": True,
        "degraded": True,
        "degraded_reason": "EmbeddingError: down",
        "arm": "treatment",
        "latency_ms": {"retrieve": 1.5, "render": 0.25, "upstream": 80.0},
        "user_message": "Which tea should I buy?",
        "reply": "Try a Darjeeling.",
    }
    db.close()


def test_rendered_text_is_not_stored_when_switched_off(ledger_target):
    db = Database(ledger_target)
    log = AuditLog(db, store_rendered=False, retention_days=30)
    log.add(_record(degraded_reason=None, stream=False))
    got = log.get("acme", "req-1")
    assert got["rendered"] is None and got["degraded"] is False and got["stream"] is False
    assert got["user_message"] is None and got["reply"] is None
    assert got["injected"][0]["id"] == "bel_1"
    db.close()


def test_long_turn_text_is_cut(ledger_target):
    from memory.ledger.audit import TEXT_LIMIT, last_user_text

    db = Database(ledger_target)
    log = AuditLog(db, store_rendered=True, retention_days=30)
    log.add(_record(reply="x" * (TEXT_LIMIT + 10)))
    got = log.get("acme", "req-1")
    assert len(got["reply"]) < TEXT_LIMIT + 10 and got["reply"].endswith("[…cut]")
    db.close()
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second"}]},
    ]
    assert last_user_text(messages) == "second"
    assert last_user_text([{"role": "system", "content": "s"}]) is None


def test_the_insights_stamp_changes_for_a_record_written_late(ledger_target):
    # A record kept in memory after a failed write (or one from another replica) reaches the
    # table after newer ones: the insights cached before it must not outlive it.
    from memory.ledger import insights

    db = Database(ledger_target)
    log = AuditLog(db, store_rendered=False, retention_days=0)
    log.write(_record(request_id="req-new", at="2026-03-02T10:00:00.000000+00:00"))
    before = insights.stamp(db.conn)
    log.write(_record(request_id="req-late", at="2026-03-01T10:00:00.000000+00:00"))
    assert insights.stamp(db.conn) != before
    db.close()
