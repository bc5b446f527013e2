import { COLLECTOR_ACTIONS, ControlError, type CollectorAction, type RuntimeControl } from '../runtime-control.js';
import type { Route } from './types.js';

const COLLECTOR_PATH = new RegExp(`^/collectors/([^/]+)/(${COLLECTOR_ACTIONS.join('|')})$`);

/**
 * POST /reload (re-read the config file: 200 with what changed, 422 with the refusal) and POST
 * /collectors/<id>/restart|stop|start (200 with the collector's status, 404 with the known ids,
 * 409 when refused). Behind the token like every path but the liveness probe.
 */
export function controlRoutes(control: Pick<RuntimeControl, 'reload' | 'act'>): Route[] {
  return [
    {
      method: 'POST',
      path: '/reload',
      async handle({ send }) {
        try {
          const outcome = await control.reload('POST /reload');
          send(outcome.result === 'applied' ? 200 : 422, outcome);
        } catch (err) {
          sendControlError(send, err);
        }
      },
    },
    {
      method: 'POST',
      path: COLLECTOR_PATH,
      async handle({ params, send }) {
        let id: string;
        try {
          id = decodeURIComponent(params[0]!);
        } catch {
          return send(400, { error: `bad collector id in the path: ${params[0]}` });
        }
        const action = params[1] as CollectorAction;
        try {
          send(200, { action, collector: await control.act(id, action) });
        } catch (err) {
          sendControlError(send, err);
        }
      },
    },
  ];
}

function sendControlError(send: (code: number, body: unknown) => void, err: unknown): void {
  if (!(err instanceof ControlError)) throw err;
  send(err.status, { error: err.message, ...(err.known ? { known: err.known } : {}) });
}
