"""Export of a solved plan as load files for a CRM: Salesforce, HubSpot, Dynamics 365, CSV."""
