"""A cast of voices: quoted speech found, attributed to characters, and a cast file to edit."""
