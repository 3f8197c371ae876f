"""Quality auditing: which decisions to re-review, and how well reviewers and auditors agree.

Pure logic (no database, no Qt): `sampling` draws audit samples, `golden` scores answers on
golden cases, `agreement` computes agreement statistics with confidence intervals.
"""
