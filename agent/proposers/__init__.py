"""Proposers turn a profile into candidate edits: built-in rules now, models later."""
