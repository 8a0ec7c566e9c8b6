"""Who may post meter events: the head-end system with its shared secret (GRIDCARE_AMI_TOKEN, checked in
`api.HeadEndAuth`), or an administrator; no other role, whatever its unit. Declared in the one table."""

from __future__ import annotations

from gridcare.org.policy import Reach, declare_rule

INGEST = "ami.ingest"
declare_rule(INGEST, roles=(), reach=Reach.NONE, label="录入电表事件")
