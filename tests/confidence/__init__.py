"""Tests of insights.confidence."""
