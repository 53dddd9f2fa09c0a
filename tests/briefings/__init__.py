"""Tests of learning briefings: the identification check, drafting, publishing."""
