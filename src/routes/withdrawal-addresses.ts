import { z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";
import { authenticate } from "../middleware/authenticate";
import { serviceContext } from "../services/auth/context";
import { walletConfig } from "../services/wallet-config";
import {
  addWithdrawalAddress,
  listWithdrawalAddresses,
  removeWithdrawalAddress,
  setAllowlistOnly,
  type WithdrawalAddress,
} from "../services/withdrawal-addresses";
import { signedInRoutes } from "./route-group";
import { IdParamSchema, TotpCodeSchema, jsonBody, jsonReply } from "./user-schemas";

// The allow-list guards withdrawals, so only a signed-in session changes it (never an API key).
const allowList = signedInRoutes(["Wallets"], [authenticate()]);

const AddressSchema = z
  .object({
    id: z.uuid(),
    asset: z.string().openapi({ example: "BTC" }),
    address: z.string().openapi({ example: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu" }),
    label: z.string().nullable(),
    created_at: z.string(),
    usable_after: z
      .string()
      .openapi({ description: "Withdrawals to it are allowed from then on (24 h after adding)" }),
    usable: z.boolean(),
  })
  .openapi("WithdrawalAddress");

const AllowListSchema = z.object({
  allowlist_only: z.boolean().openapi({ description: "Withdrawals go only to usable entries of this list" }),
  addresses: z.array(AddressSchema),
});

function addressView(a: WithdrawalAddress): z.infer<typeof AddressSchema> {
  return {
    id: a.id,
    asset: a.asset,
    address: a.address,
    label: a.label,
    created_at: a.createdAt.toISOString(),
    usable_after: a.usableAfter.toISOString(),
    usable: a.usableAfter.getTime() <= Date.now(),
  };
}

const listRoute = allowList.get("/wallets/withdrawal-addresses", {
  summary: "The withdrawal address allow-list and the `allowlist_only` setting",
  reply: { 200: jsonReply("The allow-list", AllowListSchema) },
  errors: [404],
});

const addRoute = allowList.post("/wallets/withdrawal-addresses", {
  summary: "Add an address to the allow-list (usable 24 h later; `totp_code` with 2FA on)",
  description:
    "422 `UNKNOWN_ASSET`, `ASSET_DISABLED`, `INVALID_ADDRESS`; 403 `TWO_FACTOR_REQUIRED` / `INVALID_TWO_FACTOR_CODE`; 409 when the address is already listed for the asset or the list holds 50 entries.",
  request: jsonBody(
    z.strictObject({
      asset: z.string().min(1).max(10).openapi({ example: "BTC" }),
      address: z.string().min(1).max(100),
      label: z.string().trim().min(1).max(100).optional(),
      totp_code: TotpCodeSchema.optional(),
    }),
  ),
  reply: { 201: jsonReply("Added", z.object({ address: AddressSchema })) },
  errors: [400, 404, 409, 415, 422, 503],
});

const removeRoute = allowList.delete("/wallets/withdrawal-addresses/{id}", {
  summary: "Remove an address from the allow-list",
  request: { params: IdParamSchema },
  reply: { 204: { description: "Removed" } },
  errors: [400, 404],
});

const settingsRoute = allowList.put("/wallets/withdrawal-addresses/settings", {
  summary:
    "Switch `allowlist_only` (switching it off needs `totp_code` with 2FA on and holds withdrawals 24 h)",
  request: jsonBody(z.strictObject({ allowlist_only: z.boolean(), totp_code: TotpCodeSchema.optional() })),
  reply: {
    200: jsonReply(
      "The setting now",
      z.object({ allowlist_only: z.boolean(), withdrawals_held_until: z.string().nullable() }),
    ),
  },
  errors: [400, 404, 415, 422, 503],
});

export const withdrawalAddressRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const list = await listWithdrawalAddresses(serviceContext(c).db, c.get("principal").userId);
    return c.json({ allowlist_only: list.allowlistOnly, addresses: list.addresses.map(addressView) }, 200);
  })
  .openapi(addRoute, async (c) => {
    const body = c.req.valid("json");
    const address = await addWithdrawalAddress(
      serviceContext(c),
      walletConfig(c.env),
      c.get("principal").userId,
      {
        asset: body.asset,
        address: body.address,
        label: body.label,
        totpCode: body.totp_code,
      },
    );
    return c.json({ address: addressView(address) }, 201);
  })
  .openapi(removeRoute, async (c) => {
    await removeWithdrawalAddress(serviceContext(c), c.get("principal").userId, c.req.valid("param").id);
    return c.body(null, 204);
  })
  .openapi(settingsRoute, async (c) => {
    const body = c.req.valid("json");
    const result = await setAllowlistOnly(serviceContext(c), c.get("principal").userId, {
      allowlistOnly: body.allowlist_only,
      totpCode: body.totp_code,
    });
    return c.json(
      {
        allowlist_only: result.allowlistOnly,
        withdrawals_held_until: result.withdrawalsHeldUntil?.toISOString() ?? null,
      },
      200,
    );
  });
