// Development sign-in: pick a demo user of `make up`. OpenID Connect replaces this module
// (same shape: users(), signIn(id) -> { token, user, expiresAt }).
import { call } from "../api.js";

export async function users(config) {
  return (await call(`${config.referrals_url}/dev/users`)).data;
}

export async function signIn(config, userId) {
  const { data } = await call(`${config.referrals_url}/dev/sign-in`, {
    method: "POST",
    body: { user: userId },
  });
  return {
    token: data.access_token,
    user: data.user,
    expiresAt: Date.now() + data.expires_in * 1000,
  };
}
