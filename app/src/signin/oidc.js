// Sign-in with the organisation's OpenID provider (the development one under `make up`): the
// authorization-code flow with PKCE through oidc-client-ts, then `GET /me` for who Bridges says
// the person is (role and agency come from the provider's claims, mapped by the services).
// Tokens are not left in browser storage by the library: the app's session keeps them (sealed
// in the vault for officers) and refreshes the short access token with the refresh token.
// The library loads when first needed (signing in, renewing), not with the shell's first paint.
import { call } from "../api.js";

const appUrl = () => new URL(".", document.baseURI).href; // …/app/
const library = () => import("oidc-client-ts");

/** The provider refused (an OAuth error such as invalid_grant), as opposed to no answer. */
export const isRefusal = (error) => error?.name === "ErrorResponse";

async function manager(config) {
  const { InMemoryWebStorage, UserManager, WebStorageStateStore } = await library();
  return new UserManager({
    authority: config.oidc.authority,
    client_id: config.oidc.client_id,
    scope: config.oidc.scope,
    redirect_uri: appUrl(),
    post_logout_redirect_uri: appUrl(),
    response_type: "code",
    // the PKCE verifier and state live in this tab only, for the round trip to the provider
    stateStore: new WebStorageStateStore({ store: sessionStorage, prefix: "bridges.oidc." }),
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    automaticSilentRenew: false, // the app refreshes itself: it knows when it is offline
    monitorSession: false,
    loadUserInfo: false,
  });
}

/** This page load is the provider sending the browser back (a code or an error, and state). */
export function isCallback() {
  const query = new URLSearchParams(location.search);
  return query.has("state") && (query.has("code") || query.has("error"));
}

/** To the provider's sign-in page; `returnTo` is the app route to come back to. */
export async function begin(config, { returnTo = location.hash, loginHint } = {}) {
  await (await manager(config)).signinRedirect({ state: { returnTo }, login_hint: loginHint });
}

/** Back from the provider: exchange the code, learn who signed in, clean the address bar. */
export async function complete(config) {
  const mgr = await manager(config);
  try {
    const user = await mgr.signinRedirectCallback(location.href);
    history.replaceState(null, "", appUrl() + (user.state?.returnTo || ""));
    return await signedIn(config, user);
  } finally {
    await mgr.clearStaleState();
    if (isCallback()) history.replaceState(null, "", appUrl()); // a refused or replayed callback
  }
}

/** A manager holding the saved session's tokens (the library keeps none of its own). */
async function holding(config, saved) {
  const mgr = await manager(config);
  const { User } = await library();
  await mgr.storeUser(
    new User({
      access_token: saved.token,
      refresh_token: saved.refreshToken,
      id_token: saved.idToken ?? undefined,
      token_type: "Bearer",
      scope: config.oidc.scope,
      profile: { sub: saved.user.id },
      expires_at: Math.floor(saved.expiresAt / 1000),
    }),
  );
  return mgr;
}

/** A new access token from the refresh token (the provider rotates it). */
export async function refresh(config, saved) {
  const mgr = await holding(config, saved);
  const user = await mgr.signinSilent(); // the refresh_token grant, no page or frame involved
  return { ...tokensOf(user), user: saved.user };
}

/** Sign-out reaches the provider too: the refresh token is revoked (best effort, offline is
 *  fine: it also expires), so a lost tablet's saved tokens cannot be renewed. */
export async function revoke(config, saved) {
  if (!saved?.refreshToken) return;
  const mgr = await holding(config, saved);
  await mgr.revokeTokens(["refresh_token"]).catch(() => {});
}

function tokensOf(user) {
  return {
    token: user.access_token,
    refreshToken: user.refresh_token ?? null,
    idToken: user.id_token ?? null,
    expiresAt: (user.expires_at ?? 0) * 1000,
  };
}

async function signedIn(config, user) {
  const tokens = tokensOf(user);
  try {
    const { data: me } = await call(`${config.referrals_url}/me`, { token: tokens.token });
    return { ...tokens, user: me };
  } catch (error) {
    // Bridges did not take the sign-in (e.g. no Bridges role): its tokens must not stay usable
    await revoke(config, { ...tokens, user: { id: user.profile.sub } }).catch(() => {});
    throw error;
  }
}
