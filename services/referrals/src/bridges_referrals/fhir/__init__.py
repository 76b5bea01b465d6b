"""The FHIR R4 facade at `/fhir`: Bridges' referrals as the SDOH Clinical Care IG's referral
recipient speaks them (Task, ServiceRequest, Patient, Consent, Organization, HealthcareService),
the same rules, versions and audit as the inbox, and an inbound Task that files a referral.

    codes          the systems, value sets and mappings (pure)
    resources      Bridges objects -> FHIR resources (pure)
    inbound        a posted Task (+ ServiceRequest, Patient, Consent) -> an intake (pure)
    capability     the CapabilityStatement (pure)
    outcomes       errors as OperationOutcome, and the OpenAPI document saying so
    task_search    the Task search's SQL
    use_cases      reads (audited), the Task update and the inbound intake
    subscriptions  rest-hook Subscriptions: stored, and notified id-only, signed
    routes         the HTTP routes
"""
