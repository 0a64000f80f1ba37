// A real client, matrix-js-sdk, through the device-management API of a
// homeserver: register (dummy flow), log in a second and a third device,
// list, get, rename and read back, delete one device and bulk-delete another
// through password UIA, and check that the deleted devices' tokens are
// refused and the first one still works.
//
// usage: node devices.mjs HOMESERVER-URL
//   MXDEV_JSSDK  folder holding node_modules/matrix-js-sdk (required)
//   MXDEV_JSCLIENT_REGISTRATION_TOKEN  use m.login.registration_token
//                instead of m.login.dummy (servers with token registration)
// Prints one "PASS name" or "FAIL name: why" line per step, then one line
// "VERDICTS {...}" (step -> pass/fail) and one "FIELDS {...}" (the optional
// fields the server returned), so two servers can be compared. Exit 0 when
// every step passed, 1 otherwise, 2 on bad usage.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";

const base = process.argv[2];
const sdkDir = process.env.MXDEV_JSSDK;
if (!base || !sdkDir) {
    console.error("usage: MXDEV_JSSDK=DIR node devices.mjs HOMESERVER-URL");
    process.exit(2);
}
const sdk = await import(
    pathToFileURL(join(sdkDir, "node_modules", "matrix-js-sdk", "lib", "index.js")).href
);
sdk.logger?.setLevel?.("silent"); // the SDK's own chatter is not a verdict

const verdicts = {};
const fields = {};
let failed = 0;
function pass(step) {
    verdicts[step] = "pass";
    console.log(`PASS ${step}`);
}
function fail(step, why) {
    verdicts[step] = "fail";
    failed++;
    console.log(`FAIL ${step}: ${why}`);
}
// Runs one step; a thrown error fails it (and later steps that need its
// result fail on their own).
async function step(name, fn) {
    try {
        await fn();
        if (!(name in verdicts)) pass(name);
    } catch (e) {
        fail(name, e.httpStatus ? `${e.httpStatus} ${e.errcode ?? ""} ${e.message}` : String(e));
    }
}
function expect(cond, why) {
    if (!cond) throw new Error(why);
}
function note(what, obj) {
    fields[what] = Object.keys(obj ?? {}).sort();
}
const client = (accessToken, userId) =>
    sdk.createClient({ baseUrl: base, accessToken, userId });

const user = "jsc" + randomBytes(4).toString("hex");
const password = "js-" + randomBytes(8).toString("hex");
let me, tokA, devA, tokB, devB, tokC, devC;

// UIA by hand, as a client does: the first request gets the 401 challenge
// with a session, the second answers a stage the server offered.
async function withUia(call, stage) {
    try {
        return await call(undefined);
    } catch (e) {
        expect(e.httpStatus === 401 && e.data?.session, `no UIA challenge: ${e.httpStatus}`);
        const offered = (e.data.flows ?? []).some((f) => f.stages?.includes(stage.type));
        expect(offered, `${stage.type} not offered: ${JSON.stringify(e.data.flows)}`);
        return await call({ ...stage, session: e.data.session });
    }
}

await step("register (UIA)", async () => {
    const anon = sdk.createClient({ baseUrl: base });
    const regToken = process.env.MXDEV_JSCLIENT_REGISTRATION_TOKEN;
    const stage = regToken
        ? { type: "m.login.registration_token", token: regToken }
        : { type: "m.login.dummy" };
    const r = await withUia(
        (auth) =>
            anon.registerRequest({
                username: user,
                password,
                initial_device_display_name: "js device A",
                ...(auth ? { auth } : {}),
            }),
        stage,
    );
    note("register", r);
    expect(r.access_token && r.device_id && r.user_id, "no access_token/device_id/user_id");
    [me, tokA, devA] = [r.user_id, r.access_token, r.device_id];
});

async function login(label) {
    const anon = sdk.createClient({ baseUrl: base });
    const r = await anon.loginRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user },
        password,
        initial_device_display_name: label,
    });
    note("login", r);
    expect(r.access_token && r.device_id, "no access_token/device_id");
    expect(r.user_id === me, `user_id ${r.user_id}, registered as ${me}`);
    return [r.access_token, r.device_id];
}
await step("log in a second device", async () => {
    [tokB, devB] = await login("js device B");
});
await step("log in a third device", async () => {
    [tokC, devC] = await login("js device C");
});

await step("list devices", async () => {
    const { devices } = await client(tokA, me).getDevices();
    const ids = devices.map((d) => d.device_id).sort();
    expect(
        [devA, devB, devC].every((d) => ids.includes(d)),
        `listed ${ids.join(",")}, logged in ${devA},${devB},${devC}`,
    );
    const b = devices.find((d) => d.device_id === devB);
    note("device (list)", b);
    expect(b.display_name === "js device B", `display_name ${b.display_name}`);
});

await step("get one device", async () => {
    const d = await client(tokA, me).getDevice(devB);
    note("device (get)", d);
    expect(d.device_id === devB && d.display_name === "js device B", JSON.stringify(d));
});

await step("rename and read back", async () => {
    await client(tokA, me).setDeviceDetails(devA, { display_name: "js renamed \u00e9" });
    const d = await client(tokB, me).getDevice(devA);
    expect(d.display_name === "js renamed \u00e9", `read back ${d.display_name}`);
});

const passwordStage = { type: "m.login.password", identifier: { type: "m.id.user", user }, password };
await step("delete a device (password UIA)", async () => {
    await withUia((auth) => client(tokA, me).deleteDevice(devB, auth), passwordStage);
});
await step("bulk-delete a device (password UIA)", async () => {
    await withUia((auth) => client(tokA, me).deleteMultipleDevices([devC], auth), passwordStage);
});

async function refused(tok) {
    try {
        await client(tok, me).whoami();
    } catch (e) {
        expect(e.httpStatus === 401 && e.errcode === "M_UNKNOWN_TOKEN", `${e.httpStatus} ${e.errcode}`);
        return;
    }
    throw new Error("the token still works");
}
await step("deleted device's token refused", () => refused(tokB));
await step("bulk-deleted device's token refused", () => refused(tokC));
await step("remaining device still works", async () => {
    const w = await client(tokA, me).whoami();
    note("whoami", w);
    expect(w.user_id === me && w.device_id === devA, JSON.stringify(w));
    const { devices } = await client(tokA, me).getDevices();
    const ids = devices.map((d) => d.device_id);
    expect(!ids.includes(devB) && !ids.includes(devC), `still listed: ${ids.join(",")}`);
});

console.log("VERDICTS " + JSON.stringify(verdicts));
console.log("FIELDS " + JSON.stringify(fields));
process.exit(failed ? 1 : 0);
