/**
 * Routing: one pool of a local and a cloud model, three requests. A plain one goes where the rules
 * say, one holding an e-mail address stays local, and when the local model fails the call falls back
 * to the cloud. Runs offline: both models are scripted stand-ins; put real chat models (or a `models`
 * list in cadre.config.json) in their place to route real calls.
 *
 *   npx tsx examples/routing.ts
 */
import { HumanMessage } from '@langchain/core/messages';
import { CadreError, run } from 'cadre';
import { createPolicyRouter, poolModel, routedReplyInfo } from 'cadre/models';
import { ScriptedChatModel } from 'cadre/testing';

let localDown = false;
const local = new ScriptedChatModel({
  respond: () => (localDown ? { error: new CadreError('provider_error', 'GPU server unreachable') } : 'local answer'),
});
const cloud = new ScriptedChatModel({
  respond: () => ({ content: 'cloud answer', usage: { inputTokens: 1200, outputTokens: 300 } }),
});

const router = createPolicyRouter({
  models: [
    {
      model: poolModel({
        provider: 'ollama',
        model: 'llama3.1:8b',
        strength: 4,
        capabilities: { tools: true, contextWindow: 8192 },
      }),
      chat: local,
    },
    { model: poolModel({ provider: 'openai', model: 'gpt-4o', strength: 9, maxOutputTokens: 1000 }), chat: cloud },
  ],
  routing: { rules: [{ name: 'chat-stays-local', when: { taskKind: 'chat' }, prefer: 'local' }] },
});

for (const [label, request] of [
  ['planning', { taskKind: 'plan', text: 'Plan the quarterly report' }],
  ['personal data', { taskKind: 'plan', text: 'Plan a reply to maria.lopez@example.com' }],
] as const) {
  const decision = await router.select(request);
  console.log(`${label}: ${decision.ref.provider}:${decision.ref.model} (${decision.privacy}) - ${decision.reason}`);
}

localDown = true;
const decision = await router.select({
  taskKind: 'chat',
  onReroute: (r) => console.log(`${r.kind}: ${r.from.model} -> ${r.to.model} (${r.reason})`),
});
const reply = await decision.model.invoke([new HumanMessage('Say hello')]);
const info = routedReplyInfo(reply);
console.log(`answered by ${info?.model} for $${info?.costUsd.toFixed(4)}`);

// A whole run over the same router, labelled sensitive: every call stays local.
localDown = false;
const result = await run({
  goal: 'Summarise the account notes',
  agent: { name: 'clerk', instructions: 'Answer briefly.' },
  router,
  privacy: 'sensitive',
}).result;
console.log(`sensitive run: ${result.status}, models used: ${result.models.map((m) => m.model).join(', ')}`);
