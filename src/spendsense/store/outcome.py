"""What applying an ingest did to the users it touched (no heavy imports: the CLI reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ApplyOutcome:
    """What a batch did to the users it touched (for the ingest report and the audit log)."""

    new_users: list[str] = field(default_factory=list)
    updated_users: list[str] = field(default_factory=list)
    unchanged_users: list[str] = field(default_factory=list)
    identity_changes: list[str] = field(default_factory=list)  # one sentence per user
    bundle_revocations: list[str] = field(default_factory=list)  # existing users a bundle revokes
    ignored_grants: list[str] = field(default_factory=list)  # existing users a bundle would grant
