// Generated from openapi.yaml by `npm run openapi` (openapi-typescript). Do not edit.

export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The process is up (liveness) */
        get: operations["health"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The database answers (readiness); the key provider's state from its last real call */
        get: operations["readiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics (text exposition format) */
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/connections/{connectorType}/{connectorId}/token-set": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Store the provider's token response for a user's connection (identity core, after sign-in) */
        put: operations["pushTokenSet"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/connections/{connectorType}/{connectorId}/access-token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read the connection's access token in the shape apps expect (account API) */
        get: operations["readAccessToken"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/connections": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List a user's stored connections: metadata only, never a token */
        get: operations["listConnections"];
        put?: never;
        post?: never;
        /** Delete all of a user's token sets (the user was deleted) */
        delete: operations["deleteUserTokenSets"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/connections/{connectorType}/{connectorId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Delete one connection's token set (the user unlinked the identity) */
        delete: operations["deleteTokenSet"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/connectors/{connectorType}/{connectorId}/token-sets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Delete all token sets of a connector (connector deleted or token storage turned off) */
        delete: operations["deleteConnectorTokenSets"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/connectors/{connectorType}/{connectorId}/refresh-settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read the connector's refresh settings; the client secret is never returned */
        get: operations["getRefreshSettings"];
        /** Register how the vault refreshes the connector's token sets (token endpoint, client credentials) */
        put: operations["putRefreshSettings"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/connectors/{connectorType}/{connectorId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** The connector was deleted: delete its token sets and its refresh settings together */
        delete: operations["deleteConnector"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/secrets/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read a named secret of the user, its value included (Cache-Control: no-store) */
        get: operations["readUserSecret"];
        /** Store or replace a named secret of the user (an API key, a password, anything else) */
        put: operations["putUserSecret"];
        post?: never;
        /** Delete a named secret of the user */
        delete: operations["deleteUserSecret"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/secrets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the user's named secrets: metadata only, never a value */
        get: operations["listUserSecrets"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/mfa/totp/generate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Generate a TOTP seed for the user: a pending enrolment that expires unless bound (the seed is returned this once) */
        post: operations["generateTotpSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/mfa/totp/bind": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Bind a pending TOTP enrolment with a current code; it replaces the user's TOTP factor, if any */
        post: operations["bindTotp"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/mfa/totp/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Verify a code of the user's TOTP factor: each time step is accepted once */
        post: operations["verifyTotp"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/mfa/backup-codes/generate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Generate a set of backup codes: pending until bound, then it replaces the current set at once */
        post: operations["generateBackupCodes"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/mfa/backup-codes/bind": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Bind a pending set of backup codes; it replaces the user's set, if any, in one step */
        post: operations["bindBackupCodes"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/mfa/backup-codes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read the user's bound backup codes back, each with when it was used */
        get: operations["listBackupCodes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/mfa/backup-codes/consume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Use one of the backup codes: each is accepted exactly once */
        post: operations["consumeBackupCode"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/mfa": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the user's MFA factors: metadata only */
        get: operations["listMfaFactors"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}/mfa/{type}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Remove the user's factor of a type, bound and pending */
        delete: operations["deleteMfaFactor"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/users/{userId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Delete everything the vault holds for a user: token sets, named secrets, MFA factors (the user was deleted) */
        delete: operations["deleteUser"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the tenant's webhook endpoints (never a secret) */
        get: operations["listWebhooks"];
        put?: never;
        /** Register a webhook endpoint; its signing secret is in this answer and never again */
        post: operations["createWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/webhooks/{webhookId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read one webhook endpoint (never its secret) */
        get: operations["getWebhook"];
        put?: never;
        post?: never;
        /** Delete a webhook endpoint and its pending deliveries */
        delete: operations["deleteWebhook"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/webhooks/{webhookId}/rotate-secret": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Replace the signing secret; the old one keeps signing beside it for the overlap, so receivers can switch */
        post: operations["rotateWebhookSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/webhooks/{webhookId}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The endpoint's deliveries, newest first: state, attempts, the last status or error */
        get: operations["listWebhookDeliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/webhooks/{webhookId}/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Queue a webhook.test event for this endpoint alone */
        post: operations["testWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/audit-events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List a tenant's audit events, newest first, with filters and cursor pagination */
        get: operations["listAuditEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @enum {string} */
        ErrorCode: "request.invalid" | "request.invalid_json" | "request.body_too_large" | "request.unsupported_media_type" | "request.method_not_allowed" | "request.uri_too_long" | "request.headers_too_large" | "request.timeout" | "request.malformed" | "route.not_found" | "auth.missing_token" | "auth.invalid_token" | "auth.insufficient_scope" | "auth.tenant_forbidden" | "token_set.not_found" | "token_set.reconnect_required" | "token_set.insufficient_scope" | "connector.not_found" | "connector.endpoint_changed" | "egress.refused" | "provider.unavailable" | "provider.refresh_rejected" | "provider.egress_refused" | "user_secret.not_found" | "mfa.factor_not_found" | "mfa.code_invalid" | "mfa.locked" | "webhook.not_found" | "crypto.integrity" | "key.unavailable" | "key.unknown_root_key" | "key.provider_misconfigured" | "service.unavailable" | "internal";
        Problem: {
            /** @description The kind of problem, one per code: urn:secret-vault:error:<code> */
            type: string;
            /** @description What the code means; the same for every occurrence of it */
            title: string;
            /** @description The HTTP status, repeated */
            status: number;
            /** @description What happened this time, in words; never contains secret material */
            detail: string;
            /** @description This occurrence: urn:uuid:<request_id> */
            instance: string;
            code: components["schemas"]["ErrorCode"];
            /** @description The vault's id of the request, also in x-request-id */
            request_id: string;
            /** @description For request.invalid: which inputs were wrong and why */
            issues?: {
                path: string;
                message: string;
            }[];
        };
        Connection: {
            /** Format: uuid */
            id: string;
            tenant_id: string;
            user_id: string;
            /** @enum {string} */
            connector_type: "social" | "enterprise_sso";
            connector_id: string;
            target: string | null;
            issuer: string | null;
            provider_subject: string | null;
            token_type: string;
            /** @description Granted scopes, space-separated */
            scope: string;
            /** @description When the access token expires (RFC 3339), null when the provider said nothing */
            expires_at: string | null;
            has_refresh_token: boolean;
            has_id_token: boolean;
            /** @enum {string} */
            state: "active" | "reauth_required";
            /**
             * @description active; refresh_failing: refreshes are failing in a row (provider down, throttling, misconfigured), the stored token is served while valid and the vault retries with backoff; reauth_required: the grant is gone or its refresh token expired: the user must connect again
             * @enum {string}
             */
            health: "active" | "refresh_failing" | "reauth_required";
            /** @description When the refresh token expires (RFC 3339), when the provider said (refresh_token_expires_in); null otherwise */
            refresh_token_expires_at: string | null;
            /** @description Set while health is refresh_failing */
            refresh_failure: {
                /** @description Failed refresh attempts in a row */
                count: number;
                /** @description The first of them (RFC 3339) */
                since: string;
                /** @description The last of them (RFC 3339) */
                last_at: string;
                /** @description The last one's error code, e.g. provider.unavailable */
                last_error: string;
                /** @description No refresh is attempted before this (backoff, the provider's Retry-After) */
                next_attempt_at: string | null;
            } | null;
            key_version: number;
            issued_at: string;
            created_at: string;
            updated_at: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    health: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The process is up */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        status: "ok";
                    };
                };
            };
        };
    };
    readiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready to serve */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        status: "ready" | "not_ready";
                        checks: {
                            database: {
                                /** @enum {string} */
                                status: "ok" | "failing";
                            };
                            /** @description How the key provider answered its last real call. Not asked per probe, and not part of readiness: tenants whose keys are cached are served whatever it says */
                            key_provider: {
                                /** @enum {string} */
                                status: "ok" | "unavailable" | "misconfigured";
                                /** @description When it entered this state (RFC 3339) */
                                since: string;
                                /** @description What the last failure said: which key, which permission */
                                message?: string;
                            };
                        };
                    };
                };
            };
            /** @description Not ready: a dependency is unreachable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        status: "ready" | "not_ready";
                        checks: {
                            database: {
                                /** @enum {string} */
                                status: "ok" | "failing";
                            };
                            /** @description How the key provider answered its last real call. Not asked per probe, and not part of readiness: tenants whose keys are cached are served whatever it says */
                            key_provider: {
                                /** @enum {string} */
                                status: "ok" | "unavailable" | "misconfigured";
                                /** @description When it entered this state (RFC 3339) */
                                since: string;
                                /** @description What the last failure said: which key, which permission */
                                message?: string;
                            };
                        };
                    };
                };
            };
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The metrics */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
        };
    };
    pushTokenSet: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
                connectorType: "social" | "enterprise_sso";
                /** @description Connector id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                connectorId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description Social connectors: the provider, e.g. "github". Required for social. */
                    target?: string;
                    /** @description Enterprise SSO connectors: the OIDC issuer. Required for enterprise_sso. */
                    issuer?: string;
                    /** @description The user's id at the provider */
                    provider_subject?: string;
                    /** @description Where the token response came from: the connector's token endpoint (or, for a connector refreshed through discovery, its issuer), exactly as its refresh settings name it. The refresh token is bound to it and only ever sent there. Without it, it is bound to what the connector's refresh settings name at the time of the push. */
                    authorization_server?: string;
                    /**
                     * Format: date-time
                     * @description When the identity core received the token response; defaults to now. An older push never overwrites a newer one.
                     */
                    issued_at?: string;
                    token_response: {
                        access_token: string;
                        token_type?: string | null;
                        expires_in?: (number | string) | null;
                        refresh_token_expires_in?: (number | string) | null;
                        refresh_token?: string | null;
                        id_token?: string | null;
                        scope?: string | null;
                    } & {
                        [key: string]: unknown;
                    };
                };
            };
        };
        responses: {
            /** @description Updated, or ignored_stale */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /**
                         * @description ignored_stale: the stored token set was issued later than this push, which changed nothing
                         * @enum {string}
                         */
                        result: "created" | "updated" | "ignored_stale";
                        connection: components["schemas"]["Connection"];
                    };
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /**
                         * @description ignored_stale: the stored token set was issued later than this push, which changed nothing
                         * @enum {string}
                         */
                        result: "created" | "updated" | "ignored_stale";
                        connection: components["schemas"]["Connection"];
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body too large (request.body_too_large) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    readAccessToken: {
        parameters: {
            query?: {
                /** @description Scopes the app needs, space- or comma-separated; if the user granted fewer, the answer is token_set.insufficient_scope */
                required_scopes?: string;
            };
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
                connectorType: "social" | "enterprise_sso";
                /** @description Connector id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                connectorId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The access token, refreshed first if it was about to expire */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        access_token: string;
                        token_type: string;
                        scope: string;
                        /** @description Seconds until expiry; null when the provider gave no expiry */
                        expires_in: number | null;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The user must act: reconnect the account or grant more scopes */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The provider refused the refresh (provider.refresh_rejected) */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listConnections: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user's connections */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        connections: components["schemas"]["Connection"][];
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteUserTokenSets: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description How many token sets were deleted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        deleted: number;
                        /** @description Refresh tokens queued for revocation at the provider (connection.revoked says how each went); the delete never waits for it */
                        revocations_scheduled: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteTokenSet: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
                connectorType: "social" | "enterprise_sso";
                /** @description Connector id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                connectorId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description How many token sets were deleted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        deleted: number;
                        /** @description Refresh tokens queued for revocation at the provider (connection.revoked says how each went); the delete never waits for it */
                        revocations_scheduled: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteConnectorTokenSets: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                connectorType: "social" | "enterprise_sso";
                /** @description Connector id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                connectorId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description How many token sets were deleted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        deleted: number;
                        /** @description Refresh tokens queued for revocation at the provider (connection.revoked says how each went); the delete never waits for it */
                        revocations_scheduled: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getRefreshSettings: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                connectorType: "social" | "enterprise_sso";
                /** @description Connector id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                connectorId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The settings, without the client secret */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tenant_id: string;
                        /** @enum {string} */
                        connector_type: "social" | "enterprise_sso";
                        connector_id: string;
                        token_endpoint: string | null;
                        issuer: string | null;
                        client_id: string;
                        /**
                         * @description How the vault authenticates to the token endpoint (RFC 6749 §2.3.1); none for public clients
                         * @enum {string}
                         */
                        client_auth_method: "client_secret_basic" | "client_secret_post" | "none";
                        has_client_secret: boolean;
                        extra_params: {
                            [key: string]: string;
                        };
                        refresh_policy: {
                            min_interval_seconds: number;
                            backoff_max_seconds: number;
                            refresh_margin_seconds: number | null;
                            read_wait_ms: number | null;
                            keep_alive_idle_seconds: number | null;
                        };
                        revocation_endpoint: string | null;
                        revoke_tokens: boolean;
                        key_version: number;
                        created_at: string;
                        updated_at: string;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    putRefreshSettings: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                connectorType: "social" | "enterprise_sso";
                /** @description Connector id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                connectorId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description The provider's token endpoint; give this or issuer, not both */
                    token_endpoint?: string;
                    /** @description OIDC issuer, to find the token endpoint by OpenID Connect Discovery; give this or token_endpoint, not both */
                    issuer?: string;
                    client_id: string;
                    /** @description Stored sealed; never returned. Required unless the method is none. */
                    client_secret?: string;
                    /**
                     * @description How the vault authenticates to the token endpoint (RFC 6749 §2.3.1); none for public clients
                     * @default client_secret_basic
                     * @enum {string}
                     */
                    client_auth_method?: "client_secret_basic" | "client_secret_post" | "none";
                    /**
                     * @description Extra form parameters sent with every refresh request (e.g. a resource indicator); not secret
                     * @default {}
                     */
                    extra_params?: {
                        [key: string]: string;
                    };
                    /**
                     * @description When the vault refreshes this connector's token sets
                     * @default {}
                     */
                    refresh_policy?: {
                        /** @description Refreshes of one token set at least this far apart, while its token is still valid (providers that refuse early refresh); default 0 */
                        min_interval_seconds?: number;
                        /** @description The longest wait between failed refreshes of one set (from 5 s, doubling); the provider's Retry-After still counts; default 300 */
                        backoff_max_seconds?: number;
                        /** @description A read refreshes a token that expires within this margin (or is past half its lifetime, if that is shorter); default: the service's VAULT_REFRESH_MARGIN_SECONDS */
                        refresh_margin_seconds?: number;
                        /** @description How long a read of a still-valid token waits for its refresh before it is served as stored; default: the service's VAULT_REFRESH_READ_WAIT_MS */
                        read_wait_ms?: number;
                        /** @description Keep-alive: a token set not refreshed or pushed for this long is refreshed in the background (providers whose refresh tokens die unused); default off */
                        keep_alive_idle_seconds?: number;
                    };
                    /** @description The provider's RFC 7009 revocation endpoint; without it, the issuer's discovery document names it, if it has one (GitHub has none) */
                    revocation_endpoint?: string;
                    /**
                     * @description Revoke a refresh token at the provider when its connection is deleted or a push replaces it; default true
                     * @default true
                     */
                    revoke_tokens?: boolean;
                };
            };
        };
        responses: {
            /** @description Replaced */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tenant_id: string;
                        /** @enum {string} */
                        connector_type: "social" | "enterprise_sso";
                        connector_id: string;
                        token_endpoint: string | null;
                        issuer: string | null;
                        client_id: string;
                        /**
                         * @description How the vault authenticates to the token endpoint (RFC 6749 §2.3.1); none for public clients
                         * @enum {string}
                         */
                        client_auth_method: "client_secret_basic" | "client_secret_post" | "none";
                        has_client_secret: boolean;
                        extra_params: {
                            [key: string]: string;
                        };
                        refresh_policy: {
                            min_interval_seconds: number;
                            backoff_max_seconds: number;
                            refresh_margin_seconds: number | null;
                            read_wait_ms: number | null;
                            keep_alive_idle_seconds: number | null;
                        };
                        revocation_endpoint: string | null;
                        revoke_tokens: boolean;
                        key_version: number;
                        created_at: string;
                        updated_at: string;
                    };
                };
            };
            /** @description Registered */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tenant_id: string;
                        /** @enum {string} */
                        connector_type: "social" | "enterprise_sso";
                        connector_id: string;
                        token_endpoint: string | null;
                        issuer: string | null;
                        client_id: string;
                        /**
                         * @description How the vault authenticates to the token endpoint (RFC 6749 §2.3.1); none for public clients
                         * @enum {string}
                         */
                        client_auth_method: "client_secret_basic" | "client_secret_post" | "none";
                        has_client_secret: boolean;
                        extra_params: {
                            [key: string]: string;
                        };
                        refresh_policy: {
                            min_interval_seconds: number;
                            backoff_max_seconds: number;
                            refresh_margin_seconds: number | null;
                            read_wait_ms: number | null;
                            keep_alive_idle_seconds: number | null;
                        };
                        revocation_endpoint: string | null;
                        revoke_tokens: boolean;
                        key_version: number;
                        created_at: string;
                        updated_at: string;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body too large (request.body_too_large) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteConnector: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                connectorType: "social" | "enterprise_sso";
                /** @description Connector id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                connectorId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description What was deleted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        token_sets_deleted: number;
                        refresh_settings_deleted: boolean;
                        /** @description Refresh tokens queued for revocation at the provider (connection.revoked says how each went) */
                        revocations_scheduled: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    readUserSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
                /** @description The secret's name, unique per user: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The secret and its value */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tenant_id: string;
                        user_id: string;
                        name: string;
                        /** @enum {string} */
                        kind: "api_key" | "password" | "generic";
                        labels: {
                            [key: string]: string;
                        };
                        /** @description The tenant data-key version the value is sealed under */
                        key_version: number;
                        created_at: string;
                        updated_at: string;
                        value: string;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    putUserSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
                /** @description The secret's name, unique per user: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @enum {string} */
                    kind: "api_key" | "password" | "generic";
                    /** @description The secret, sealed under the tenant data key; returned only by readUserSecret */
                    value: string;
                    /**
                     * @description Metadata in the clear (never put a secret here): up to 20 names of 1–64 characters, values up to 256
                     * @default {}
                     */
                    labels?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description Replaced */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tenant_id: string;
                        user_id: string;
                        name: string;
                        /** @enum {string} */
                        kind: "api_key" | "password" | "generic";
                        labels: {
                            [key: string]: string;
                        };
                        /** @description The tenant data-key version the value is sealed under */
                        key_version: number;
                        created_at: string;
                        updated_at: string;
                    };
                };
            };
            /** @description Stored */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tenant_id: string;
                        user_id: string;
                        name: string;
                        /** @enum {string} */
                        kind: "api_key" | "password" | "generic";
                        labels: {
                            [key: string]: string;
                        };
                        /** @description The tenant data-key version the value is sealed under */
                        key_version: number;
                        created_at: string;
                        updated_at: string;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body too large (request.body_too_large) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteUserSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
                /** @description The secret's name, unique per user: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description How many secrets were deleted (0 or 1) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        deleted: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listUserSecrets: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user's secrets */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description By name; never a value */
                        secrets: {
                            tenant_id: string;
                            user_id: string;
                            name: string;
                            /** @enum {string} */
                            kind: "api_key" | "password" | "generic";
                            labels: {
                                [key: string]: string;
                            };
                            /** @description The tenant data-key version the value is sealed under */
                            key_version: number;
                            created_at: string;
                            updated_at: string;
                        }[];
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    generateTotpSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description Shown by the authenticator app above the code, e.g. the product name */
                    issuer: string;
                    /** @description The account's label in the app, e.g. the user's email address */
                    account_name: string;
                };
            };
        };
        responses: {
            /** @description The pending factor and its seed */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        factor: {
                            /** Format: uuid */
                            id: string;
                            /** @enum {string} */
                            type: "totp" | "backup_codes";
                            /**
                             * @description pending: generated, not yet bound; it expires. bound: in use
                             * @enum {string}
                             */
                            state: "pending" | "bound";
                            key_version: number;
                            created_at: string;
                            /** @description When a pending factor can no longer be bound */
                            expires_at: string | null;
                            bound_at: string | null;
                            last_used_at: string | null;
                            /** @description Backup codes: how many of the set were used */
                            codes_used?: number;
                        };
                        /** @description The seed in base32, for typing into an app; returned this once */
                        secret: string;
                        /** @description otpauth://totp/… (SHA1, 6 digits, 30 s), carrying the seed; returned this once */
                        otpauth_uri: string;
                        /** @description The otpauth URI as a QR code, an SVG document; returned this once */
                        qr_code_svg: string;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body too large (request.body_too_large) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    bindTotp: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** Format: uuid */
                    factor_id: string;
                    /** @description The six digits the app shows */
                    code: string;
                };
            };
        };
        responses: {
            /** @description The bound factor */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        /** @enum {string} */
                        type: "totp" | "backup_codes";
                        /**
                         * @description pending: generated, not yet bound; it expires. bound: in use
                         * @enum {string}
                         */
                        state: "pending" | "bound";
                        key_version: number;
                        created_at: string;
                        /** @description When a pending factor can no longer be bound */
                        expires_at: string | null;
                        bound_at: string | null;
                        last_used_at: string | null;
                        /** @description Backup codes: how many of the set were used */
                        codes_used?: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body too large (request.body_too_large) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The code was not accepted (mfa.code_invalid) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The user's MFA is locked; retry after Retry-After (mfa.locked) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    verifyTotp: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description The six digits the app shows */
                    code: string;
                };
            };
        };
        responses: {
            /** @description Accepted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {boolean} */
                        verified: true;
                        factor: {
                            /** Format: uuid */
                            id: string;
                            /** @enum {string} */
                            type: "totp" | "backup_codes";
                            /**
                             * @description pending: generated, not yet bound; it expires. bound: in use
                             * @enum {string}
                             */
                            state: "pending" | "bound";
                            key_version: number;
                            created_at: string;
                            /** @description When a pending factor can no longer be bound */
                            expires_at: string | null;
                            bound_at: string | null;
                            last_used_at: string | null;
                            /** @description Backup codes: how many of the set were used */
                            codes_used?: number;
                        };
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body too large (request.body_too_large) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The code was not accepted (mfa.code_invalid) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The user's MFA is locked; retry after Retry-After (mfa.locked) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    generateBackupCodes: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The pending set */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        factor: {
                            /** Format: uuid */
                            id: string;
                            /** @enum {string} */
                            type: "totp" | "backup_codes";
                            /**
                             * @description pending: generated, not yet bound; it expires. bound: in use
                             * @enum {string}
                             */
                            state: "pending" | "bound";
                            key_version: number;
                            created_at: string;
                            /** @description When a pending factor can no longer be bound */
                            expires_at: string | null;
                            bound_at: string | null;
                            last_used_at: string | null;
                            /** @description Backup codes: how many of the set were used */
                            codes_used?: number;
                        };
                        /** @description The codes, shown as xxxxx-xxxxx; readable again through listBackupCodes once bound */
                        codes: string[];
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    bindBackupCodes: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** Format: uuid */
                    factor_id: string;
                };
            };
        };
        responses: {
            /** @description The bound set */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        /** @enum {string} */
                        type: "totp" | "backup_codes";
                        /**
                         * @description pending: generated, not yet bound; it expires. bound: in use
                         * @enum {string}
                         */
                        state: "pending" | "bound";
                        key_version: number;
                        created_at: string;
                        /** @description When a pending factor can no longer be bound */
                        expires_at: string | null;
                        bound_at: string | null;
                        last_used_at: string | null;
                        /** @description Backup codes: how many of the set were used */
                        codes_used?: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body too large (request.body_too_large) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listBackupCodes: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The bound set */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        factor: {
                            /** Format: uuid */
                            id: string;
                            /** @enum {string} */
                            type: "totp" | "backup_codes";
                            /**
                             * @description pending: generated, not yet bound; it expires. bound: in use
                             * @enum {string}
                             */
                            state: "pending" | "bound";
                            key_version: number;
                            created_at: string;
                            /** @description When a pending factor can no longer be bound */
                            expires_at: string | null;
                            bound_at: string | null;
                            last_used_at: string | null;
                            /** @description Backup codes: how many of the set were used */
                            codes_used?: number;
                        };
                        /** @description The bound set, in order */
                        codes: {
                            code: string;
                            used_at: string | null;
                        }[];
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    consumeBackupCode: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description A backup code as the user typed it: case, spaces and hyphens do not matter */
                    code: string;
                };
            };
        };
        responses: {
            /** @description Accepted and used up */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {boolean} */
                        verified: true;
                        factor: {
                            /** Format: uuid */
                            id: string;
                            /** @enum {string} */
                            type: "totp" | "backup_codes";
                            /**
                             * @description pending: generated, not yet bound; it expires. bound: in use
                             * @enum {string}
                             */
                            state: "pending" | "bound";
                            key_version: number;
                            created_at: string;
                            /** @description When a pending factor can no longer be bound */
                            expires_at: string | null;
                            bound_at: string | null;
                            last_used_at: string | null;
                            /** @description Backup codes: how many of the set were used */
                            codes_used?: number;
                        };
                        /** @description Unused codes left in the set */
                        remaining: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body too large (request.body_too_large) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The code was not accepted (mfa.code_invalid) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The user's MFA is locked; retry after Retry-After (mfa.locked) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listMfaFactors: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user's factors */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description Bound and pending; never a seed or a code */
                        factors: {
                            /** Format: uuid */
                            id: string;
                            /** @enum {string} */
                            type: "totp" | "backup_codes";
                            /**
                             * @description pending: generated, not yet bound; it expires. bound: in use
                             * @enum {string}
                             */
                            state: "pending" | "bound";
                            key_version: number;
                            created_at: string;
                            /** @description When a pending factor can no longer be bound */
                            expires_at: string | null;
                            bound_at: string | null;
                            last_used_at: string | null;
                            /** @description Backup codes: how many of the set were used */
                            codes_used?: number;
                        }[];
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteMfaFactor: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
                type: "totp" | "backup_codes";
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description How many factors were deleted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        deleted: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description What was deleted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        token_sets_deleted: number;
                        user_secrets_deleted: number;
                        mfa_factors_deleted: number;
                        /** @description Refresh tokens queued for revocation at the provider */
                        revocations_scheduled: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listWebhooks: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The endpoints, oldest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        webhooks: {
                            tenant_id: string;
                            id: string;
                            url: string;
                            event_types: string[];
                            description: string;
                            key_version: number;
                            created_at: string;
                            updated_at: string;
                        }[];
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    createWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description Where deliveries are POSTed; the egress policy applies (https, no internal addresses) */
                    url: string;
                    /**
                     * @description The types this endpoint receives; empty (the default): every type
                     * @default []
                     */
                    event_types?: ("connection.created" | "connection.updated" | "connection.refreshed" | "connection.refresh_failing" | "connection.reauth_required" | "connection.recovered" | "connection.deleted" | "connection.revoked" | "tenant.data_key_rotated" | "tenant.reencrypted" | "tenant.data_key_destroyed" | "tenant.root_key_rotated" | "webhook.test")[];
                    /** @default  */
                    description?: string;
                };
            };
        };
        responses: {
            /** @description Registered */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tenant_id: string;
                        id: string;
                        url: string;
                        event_types: string[];
                        description: string;
                        key_version: number;
                        created_at: string;
                        updated_at: string;
                        /** @description The signing secret, shown this once (whsec_ and base64, as Standard Webhooks libraries take it); the vault keeps it sealed */
                        secret: string;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body too large (request.body_too_large) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description The endpoint id the vault assigned */
                webhookId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The endpoint */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tenant_id: string;
                        id: string;
                        url: string;
                        event_types: string[];
                        description: string;
                        key_version: number;
                        created_at: string;
                        updated_at: string;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description The endpoint id the vault assigned */
                webhookId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description How many endpoints were deleted (0 or 1) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        deleted: number;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    rotateWebhookSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description The endpoint id the vault assigned */
                webhookId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description How long deliveries stay signed with the old secret too (a second signature), so receivers can switch; default one day
                     * @default 86400
                     */
                    overlap_seconds?: number;
                };
            };
        };
        responses: {
            /** @description The new secret, shown this once */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tenant_id: string;
                        id: string;
                        url: string;
                        event_types: string[];
                        description: string;
                        key_version: number;
                        created_at: string;
                        updated_at: string;
                        /** @description The signing secret, shown this once (whsec_ and base64, as Standard Webhooks libraries take it); the vault keeps it sealed */
                        secret: string;
                        /** @description Until then deliveries carry a signature with the old secret too */
                        previous_secret_expires_at: string | null;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body is not JSON (request.unsupported_media_type) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listWebhookDeliveries: {
        parameters: {
            query?: {
                state?: "pending" | "delivered" | "dead";
                limit?: number;
            };
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description The endpoint id the vault assigned */
                webhookId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deliveries */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        deliveries: {
                            id: string;
                            /** @description The webhook-id header: the same on every attempt, for deduplication */
                            event_id: string;
                            event_type: string;
                            /**
                             * @description dead: given up after the retry period
                             * @enum {string}
                             */
                            state: "pending" | "delivered" | "dead";
                            attempts: number;
                            /** @description For a pending delivery */
                            next_attempt_at: string | null;
                            last_attempt_at: string | null;
                            /** @description The endpoint's HTTP status on the last attempt, if it answered */
                            last_status: number | null;
                            /** @description Why the last attempt failed: http_<status>, timeout, connect_failed, redirect, egress.refused, crypto.integrity */
                            last_error: string | null;
                            delivered_at: string | null;
                            created_at: string;
                        }[];
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    testWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
                /** @description The endpoint id the vault assigned */
                webhookId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Queued */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description The test event; its delivery is listed like any other */
                        event_id: string;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listAuditEvents: {
        parameters: {
            query?: {
                /** @description User id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                user_id?: string;
                connector_type?: "social" | "enterprise_sso";
                /** @description Connector id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                connector_id?: string;
                action?: "token_set.push" | "token_set.read" | "token_set.refresh" | "token_set.delete" | "token_set.revoke" | "connection.list" | "user.token_sets.delete" | "connector.token_sets.delete" | "connector.refresh_settings.put" | "connector.refresh_settings.read" | "connector.delete" | "user_secret.put" | "user_secret.read" | "user_secret.list" | "user_secret.delete" | "mfa.totp.generate" | "mfa.totp.bind" | "mfa.totp.verify" | "mfa.backup_codes.generate" | "mfa.backup_codes.bind" | "mfa.backup_codes.list" | "mfa.backup_codes.consume" | "mfa.factors.list" | "mfa.factor.delete" | "user.delete" | "webhook.create" | "webhook.list" | "webhook.read" | "webhook.delete" | "webhook.rotate_secret" | "webhook.deliveries.list" | "webhook.test" | "audit.list" | "audit.retention" | "key.rotate" | "key.reencrypt" | "key.destroy" | "key.rotate_root" | "tenant.shred";
                outcome?: "success" | "denied" | "failed";
                /** @description Events at or after this time */
                since?: string;
                /** @description Events before this time */
                until?: string;
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string;
            };
            header?: never;
            path: {
                /** @description Tenant id: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit */
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of events, newest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description Newest first */
                        events: {
                            id: string;
                            occurred_at: string;
                            client_id: string | null;
                            action: string;
                            /** @enum {string} */
                            outcome: "success" | "denied" | "failed";
                            error_code: string | null;
                            user_id: string | null;
                            connector_type: string | null;
                            connector_id: string | null;
                            /** @description The vault's id of the request */
                            request_id: string;
                            /** @description The caller's own x-request-id, when it sent a well-formed one */
                            caller_request_id: string | null;
                            key_version: number | null;
                        }[];
                        /** @description Pass as cursor for the next page; null on the last page */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description Invalid request (request.invalid, request.invalid_json) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token (auth.missing_token, auth.invalid_token) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request did not arrive in time (request.timeout) */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A path segment is too long (request.uri_too_long) */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Headers too large (request.headers_too_large) */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal error (crypto.integrity, key.*, internal) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
}
