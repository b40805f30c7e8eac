'use strict';
// Bot API emulator for the end-to-end test: telegram-test-api, with the fixes python-telegram-bot
// 22 needs, applied to its route table and update formatter before the server starts.
//
//   node harness.js --port 9000 [--minimal]
//
// Prints "READY <port>" on stdout once it listens on 127.0.0.1. The test drives it through the
// package's own client routes (POST /sendMessage, /sendCommand, /sendCallback, /getUpdates) and
// reads every Bot API call the bot made from GET /e2e/calls.
//
// Fixes:
// * getMe: the package's reply lacks `is_bot` (required by PTB's User).
// * callback-query updates: lack `chat_instance` (required by PTB's CallbackQuery); the client's
//   callback message also lacks `message_id` and `date`.
// * sendMessage: the returned message's `date` is in milliseconds (PTB reads seconds) and has
//   no `from`.
// * getUpdates: the package marks updates read as soon as it returns them and ignores `offset`
//   and `timeout`. Here it follows the Bot API: updates below `offset` are confirmed and dropped,
//   the others are returned again until confirmed, and an empty poll waits up to `timeout`
//   seconds (capped at 2 s) for an update instead of returning at once.
// setMyCommands, sendChatAction and sendPhoto are left unsupported on purpose: the bot must
// survive a server that rejects them.
//
// With --minimal only the two fixes PTB strictly needs are applied (getMe's `is_bot` and the
// callback queries' `chat_instance`); everything else behaves as the package ships it. The bot
// must cope with that too (it repairs millisecond dates itself).

const TelegramServer = require('telegram-test-api');
const routeTable = require('telegram-test-api/lib/routes/index');
const botRoutes = require('telegram-test-api/lib/routes/bot/index');
const { handle } = require('telegram-test-api/lib/routes/bot/utils');
const { getMe } = require('telegram-test-api/lib/routes/bot/getMe');
const { getUpdates } = require('telegram-test-api/lib/routes/bot/getUpdates');
const { sendMessage } = require('telegram-test-api/lib/routes/bot/sendMessage');

const BOT = { id: 666, is_bot: true, first_name: 'Test First name', username: 'TestNameBot' };
const calls = [];

function argument(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function params(req) {
  return Object.assign({}, req.query || {}, req.body || {});
}

function replaceRoute(original, replacement) {
  const i = routeTable.routes.indexOf(original);
  if (i < 0) throw new Error('telegram-test-api route table changed; update the harness');
  routeTable.routes[i] = replacement;
  const j = botRoutes.botRoutes.indexOf(original);
  if (j >= 0) botRoutes.botRoutes[j] = replacement;
}

// Record every Bot API call (registered before the package's routes).
routeTable.routes.unshift((app) => {
  app.all('/bot:token/:method', (req, _res, next) => {
    calls.push({ method: req.params.method, params: params(req), time: Date.now() });
    next();
  });
  app.get('/e2e/calls', (_req, res) => res.json({ ok: true, result: calls }));
});

let serverRef = null;
routeTable.routes.unshift((app, server) => {
  serverRef = server;
  // User updates the bot has not confirmed yet (with --minimal: not fetched yet).
  app.get('/e2e/pending', (_req, res) => res.json({
    ok: true,
    result: serverRef.storage.userMessages
      .filter((u) => !u.isRead)
      .map((u) => TelegramServer.formatUpdate(u)),
  }));
});

replaceRoute(getMe, (app) => {
  handle(app, '/bot:token/getMe', (_req, res) => {
    res.sendResult({
      ok: true,
      result: Object.assign({}, BOT, {
        can_join_groups: true,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
      }),
    });
  });
});

const minimal = process.argv.includes('--minimal');

if (!minimal) replaceRoute(sendMessage, (app, server) => {
  handle(app, '/bot:token/sendMessage', (req, res) => {
    const result = server.addBotMessage(req.body, req.params.token);
    result.date = Math.floor(Number(result.date) / 1000);
    result.from = BOT;
    const chatId = Number(result.chat.id);
    result.chat = chatId < 0
      ? { id: chatId, type: 'group', title: 'Group' }
      : { id: chatId, type: 'private', first_name: 'User' };
    res.sendResult({ ok: true, result });
  });
});

if (!minimal) replaceRoute(getUpdates, (app, server) => {
  handle(app, '/bot:token/getUpdates', async (req, res) => {
    const token = req.params.token;
    const p = params(req);
    const offset = Number(p.offset || 0);
    const limit = Math.max(1, Math.min(100, Number(p.limit || 100)));
    const waitMs = Math.min(2, Math.max(0, Number(p.timeout || 0))) * 1000;
    let closed = false;
    res.on('close', () => { closed = true; });
    const deadline = Date.now() + waitMs;
    for (;;) {
      const mine = server.storage.userMessages.filter((u) => u.botToken === token);
      // Confirmed: below the offset (the Bot API forgets them).
      server.storage.userMessages = server.storage.userMessages.filter(
        (u) => u.botToken !== token || !(offset > 0 && u.updateId < offset),
      );
      const pending = mine.filter((u) => !(offset > 0 && u.updateId < offset)).slice(0, limit);
      if (pending.length || Date.now() >= deadline || closed) {
        if (!closed) {
          res.sendResult({ ok: true, result: pending.map((u) => TelegramServer.formatUpdate(u)) });
        }
        return;
      }
      await new Promise((resolve) => { setTimeout(resolve, 50); });
    }
  });
});

const formatUpdate = TelegramServer.formatUpdate;
TelegramServer.formatUpdate = (update) => {
  const out = formatUpdate(update);
  if (out.callback_query) {
    const query = out.callback_query;
    query.chat_instance = query.chat_instance || String(update.callbackQuery.chat_instance || 'e2e');
    if (query.message && !minimal) {
      query.message = Object.assign({ message_id: 1, date: Math.floor(update.time / 1000) }, query.message);
      delete query.message.botToken;
    }
  } else if (out.message && !minimal) {
    delete out.message.botToken;
  }
  return out;
};

async function main() {
  const port = Number(argument('port', '9000'));
  const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
  await server.start();
  process.stdout.write(`READY ${port}\n`);
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error) => {
  process.stderr.write(`harness failed: ${error && error.stack}\n`);
  process.exit(1);
});
