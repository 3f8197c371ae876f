"""Quality auditing: which decisions to re-review, and how well reviewers and auditors agree.

Pure logic (no database, no Qt): `sampling` draws audit samples, `golden` scores answers on
golden cases, `agreement` computes agreement statistics with confidence intervals. On the
database: `store` draws and stores samples, golden cases and calibration sessions and records
an auditor's blind re-review on the replica; `apply` applies that work on the backend and
scores golden answers; `metrics` turns stored audits into figures per reviewer, team and
policy area; `commands` are reviewer-admin's qa-sample, qa-golden and qa-calibration.
"""
