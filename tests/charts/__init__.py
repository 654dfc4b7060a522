"""Tests of the plots package and the heping-sd plot command."""
