"""Automation: the work agents should never do by hand (DESIGN.md §5).

    ingest / agent reply ─► AutomationJob row (same transaction) ─► on commit: run_jobs task
    run_jobs: classify ─► routing rules ─► assign (strategy, skills, capacity, availability)
              ─► SLA ─► auto-reply (loop-safe) ─► triggers
    beat: sweep_jobs (lost or stuck jobs), assign_waiting (queues), idle triggers, retrain

- rules.py: the condition/action vocabulary shared by routing rules, triggers and macros —
  validation, evaluation with explanations, application.
- routing.py, assignment.py, classify.py, autoreply.py, triggers.py, macros.py: one step each.
- jobs.py: the outbox (enqueue in the transaction, run once, sweep).
"""
