import {
  isJSONRPCRequest,
  parseJSONRPCMessage,
  type AuthInfo,
  type JSONRPCMessage
} from '@modelcontextprotocol/server';
import type { ClusterMessageOf, RelayedAuth } from '../cluster/cluster.ts';
import { withRequestOrigin } from '../observability/request-context.ts';
import type { SseSession } from './sse-session.ts';

/**
 * Messages posted to `/<environment>/messages` on one replica for an event stream another replica
 * holds travel through the cluster (Redis pub/sub) to it. The posting replica has already checked
 * the caller's token, rate limits and the messages' form, and answered 202; the holding replica
 * checks again that the stream is the caller's, and delivers them as if they had been posted to it,
 * under the caller as verified there. The token itself does not travel.
 */

export function relayedAuth(authInfo: AuthInfo | undefined): RelayedAuth | undefined {
  if (authInfo === undefined) return undefined;
  return {
    clientId: authInfo.clientId,
    scopes: authInfo.scopes,
    ...(authInfo.expiresAt === undefined ? {} : { expiresAt: authInfo.expiresAt }),
    ...(authInfo.resource === undefined ? {} : { resource: authInfo.resource.href }),
    ...(authInfo.extra === undefined ? {} : { extra: authInfo.extra })
  };
}

function authOf(relayed: RelayedAuth): AuthInfo {
  return {
    token: '',
    clientId: relayed.clientId,
    scopes: relayed.scopes,
    ...(relayed.expiresAt === undefined ? {} : { expiresAt: relayed.expiresAt }),
    ...(relayed.resource === undefined ? {} : { resource: new URL(relayed.resource) }),
    ...(relayed.extra === undefined ? {} : { extra: relayed.extra })
  };
}

/**
 * Delivers relayed messages to the stream they were posted for. A request this stream cannot take
 * (its id still running) is answered on the stream with the error the posting replica would have
 * given, since that replica's 202 has long been sent.
 */
export function deliverRelayed(session: SseSession, relayed: ClusterMessageOf<'sse.messages'>): void {
  const extra = relayed.auth === undefined ? {} : { authInfo: authOf(relayed.auth) };
  withRequestOrigin(relayed.origin, () => {
    for (const value of relayed.messages) {
      let message: JSONRPCMessage;
      try {
        message = parseJSONRPCMessage(value);
      } catch {
        continue;
      }
      const refusal = session.refusal(message);
      if (refusal === undefined) {
        session.receive(message, extra);
      } else if (isJSONRPCRequest(message)) {
        session.refuse(message.id, refusal);
      }
    }
  });
}
