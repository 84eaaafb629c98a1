"""What the council learned: the scrutiny report, learning themes, findings and actions arising."""
