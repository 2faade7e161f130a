"""Profile stores: where proven sign-ins, failures and scored attempts live."""
