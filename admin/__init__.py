"""`python main.py admin …`: the operator's command line over a stopped or running bot's
database and configuration (README "Operating it")."""
