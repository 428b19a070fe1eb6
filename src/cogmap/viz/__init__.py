"""Figures and animations, kept apart from the computations they show."""
