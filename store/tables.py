"""The lead store's tables (SQLAlchemy Core), shared by the migrations and every query.

Times are integers: UTC epoch microseconds. Both databases compare and index them natively,
drivers return them without parsing (bulk reads of millions of events stay cheap), and a
microsecond is what an aware ``datetime`` carries, so nothing is rounded.

Personal data: a lead keeps only the attributes its dataset config declares (``exclude`` and
undeclared columns or traits never reach a table); score history keeps outputs only (its compact explanations are reason group keys and
numbers).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
    true,
)

# Named constraints, so migrations can refer to them on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID_LENGTH = 128  # lead, account and deal ids, as the scoring API bounds lead ids
KEY_LENGTH = 200  # idempotency keys (Segment messageIds are UUIDs; CRMs use their own ids)
NAME_LENGTH = 64  # event types and model versions

# Auto-incremented row ids: BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER key.
RowId = BigInteger().with_variant(Integer(), "sqlite")


def _lead_ref(nullable: bool = False) -> Column:
    return Column(
        "lead_id",
        String(ID_LENGTH),
        ForeignKey("leads.lead_id", ondelete="CASCADE"),
        nullable=nullable,
    )


leads = Table(
    "leads",
    metadata,
    Column("lead_id", String(ID_LENGTH), primary_key=True),
    Column("account_id", String(ID_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    # False: created_at is the earliest time seen for the lead (its first event or message),
    # moved earlier when an older event arrives; True: the CRM said when it was created.
    Column("created_at_given", Boolean, nullable=False, server_default=false()),
    Column("attributes", JSON, nullable=False),
    # Per field (attribute name, or account_id): the time of the message that set it, so an
    # older message delivered late never overwrites a newer value.
    Column("field_times", JSON, nullable=False),
    # Bumped by every change of the lead's attributes, events or deals; a score records the
    # revision it saw, so a score older than the lead's last change is recognisable.
    Column("revision", BigInteger, nullable=False, server_default=text("0")),
    Column("needs_score", Boolean, nullable=False, server_default=true()),
    # While needs_score: when the lead first changed since its last score. The background
    # rescorer takes the longest-waiting leads first, so a lead that keeps changing is not
    # starved and a burst on some leads does not hold up the others.
    Column("score_due_since", BigInteger, nullable=True, comment="UTC epoch microseconds"),
    Column("updated_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Index("ix_leads_account_id", "account_id"),
    # Only the few leads waiting for a score are in this index, in the order they are taken.
    Index(
        "ix_leads_score_due",
        "score_due_since",
        sqlite_where=text("needs_score"),
        postgresql_where=text("needs_score"),
    ),
)

events = Table(
    "events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    _lead_ref(),
    Column("occurred_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Column("event_type", String(NAME_LENGTH), nullable=False),
    Column("campaign", String(ID_LENGTH), nullable=True),
    Column("channel", String(ID_LENGTH), nullable=True),
    # Segment's messageId or a native item's id: a redelivered message is not stored twice.
    Column("idempotency_key", String(KEY_LENGTH), nullable=True, unique=True),
    Index("ix_events_lead_id_occurred_at", "lead_id", "occurred_at"),
    Index("ix_events_event_type", "event_type"),
)

deals = Table(
    "deals",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    _lead_ref(),
    Column("deal_id", String(ID_LENGTH), nullable=True, unique=True, comment="the CRM's id"),
    Column("opened_at", BigInteger, nullable=True, comment="UTC epoch microseconds"),
    Column("closed_at", BigInteger, nullable=True, comment="UTC epoch microseconds"),
    Column("won", Boolean, nullable=True),
    Column("amount", Float, nullable=True),
    Column("idempotency_key", String(KEY_LENGTH), nullable=True, unique=True),
    Index("ix_deals_lead_id", "lead_id"),
)

current_scores = Table(
    "current_scores",
    metadata,
    Column(
        "lead_id",
        String(ID_LENGTH),
        ForeignKey("leads.lead_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("revision", BigInteger, nullable=False),
    Column("model_version", String(NAME_LENGTH), nullable=False),
    Column("as_of", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Column("scored_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Column("probability", Float, nullable=False),
    Column("score", Integer, nullable=False),
    Column("tier", String(1), nullable=False),
    Column("sales_ready", Boolean, nullable=False),
    Column("fit", Float, nullable=False),
    Column("engagement", Float, nullable=False),
    Column("reasons", JSON, nullable=False),
    # The compact explanation (models.reason_changes: group keys and numbers) and the
    # "what changed" the score was served with; NULL before migration 0002 or without one.
    Column("explanation", Text, nullable=True),
    Column("changes", JSON, nullable=True),
    Index("ix_current_scores_model_version", "model_version"),
    Index("ix_current_scores_scored_at", "scored_at"),
)

# What was served: POST /score answers and every stored score change. No foreign key: scores
# of leads sent whole to POST /score are logged whether or not the store knows the lead.
score_history = Table(
    "score_history",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("lead_id", String(ID_LENGTH), nullable=False),
    Column("as_of", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Column("scored_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Column("model_version", String(NAME_LENGTH), nullable=False),
    Column("probability", Float, nullable=False),
    Column("score", Integer, nullable=False),
    Column("tier", String(1), nullable=False),
    # request (POST /score), change (the lead changed), model (the champion changed),
    # refresh (time passed), batch (leadscore score --from-store)
    Column("cause", String(16), nullable=False),
    # The compact explanation: the next score of the lead says what changed against it.
    Column("explanation", Text, nullable=True),
    Index("ix_score_history_lead_id_id", "lead_id", "id"),
)

# ---------------------------------------------------------------- alerts (webhooks)
# Subscribers of alerts; the secret signs deliveries (Standard Webhooks), so it is stored as
# given out: a subscription is as secret as the store's database.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("events", JSON, nullable=False),
    Column("min_tier", String(1), nullable=True),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("disabled_reason", String(200), nullable=True),
    Column("created_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
)

# What happened, once per event (whoever subscribes): the payload every subscriber receives,
# and the sales page's "just became hot" list.
alert_events = Table(
    "alert_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("event_type", String(NAME_LENGTH), nullable=False),
    Column("lead_id", String(ID_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Column("payload", Text, nullable=False),
    Index("ix_alert_events_event_type_id", "event_type", "id"),
    Index("ix_alert_events_lead_id", "lead_id"),
)

# The transactional outbox: one delivery per (event, subscription), written in the same
# transaction as the score change that caused the event, claimed by one delivery worker at a
# time (claimed_by, claimed_until: a lease that a dead worker's claim outlives only briefly).
alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("event_row", RowId, ForeignKey("alert_events.id", ondelete="CASCADE"), nullable=False),
    Column(
        "subscription_id",
        String(40),
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # pending (due at next_attempt_at), delivered, dead (after the last attempt; replayable)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Column("next_attempt_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Column("claimed_by", String(40), nullable=True),
    Column("claimed_until", BigInteger, nullable=True, comment="UTC epoch microseconds"),
    Column("last_status", Integer, nullable=True, comment="the receiver's last HTTP status"),
    Column("last_error", String(300), nullable=True),
    Column("delivered_at", BigInteger, nullable=True, comment="UTC epoch microseconds"),
    Index("ix_alert_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_alert_outbox_subscription_id_id", "subscription_id", "id"),
    Index("ix_alert_outbox_event_row", "event_row"),
)

# Per lead, what the alert rules remember between scores: whether lead.sales_ready is armed
# (hysteresis), when it last fired (cool-down), the re-emergence episode already announced.
lead_alert_states = Table(
    "lead_alert_states",
    metadata,
    Column(
        "lead_id",
        String(ID_LENGTH),
        ForeignKey("leads.lead_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("armed", Boolean, nullable=False),
    Column("ready_floor", Integer, nullable=True),
    Column("last_ready_at", BigInteger, nullable=True, comment="UTC epoch microseconds"),
    Column("episode", BigInteger, nullable=True, comment="UTC epoch microseconds"),
)

# A champion change: the rescoring it causes tallied here instead of per-lead alerts, then
# announced once (model.promoted / model.rolled_back) when every stored lead has its new score.
model_changes = Table(
    "model_changes",
    metadata,
    Column("model_version", String(NAME_LENGTH), primary_key=True),
    Column("previous_version", String(NAME_LENGTH), nullable=False),
    Column("started_at", BigInteger, nullable=False, comment="UTC epoch microseconds"),
    Column("rescored", BigInteger, nullable=False, server_default=text("0")),
    Column("tallies", JSON, nullable=False),
    Column("announced", Boolean, nullable=False, server_default=false()),
)
