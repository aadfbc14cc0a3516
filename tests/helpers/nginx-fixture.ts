import { renderNginxSite, type NginxSiteOptions } from '../../deploy/nginx/render.ts';
import { nginxInFront, type NginxInFront } from './nginx.ts';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.ts';

/** The shared layout rendered for loopback, with a recording upstream standing where sqlbridge would. */
export interface SharedNginxFixture extends NginxInFront {
  upstream: RecordingUpstream;
  stop(): Promise<void>;
}

export async function sharedNginxBeforeRecorder(
  environments: readonly string[],
  extra: Pick<NginxSiteOptions, 'rateLimits'> = {}
): Promise<SharedNginxFixture> {
  const upstream = await startRecordingUpstream();
  try {
    const front = await nginxInFront(siteOptions =>
      renderNginxSite({
        layout: 'shared',
        serverName: 'localhost',
        environments,
        upstreams: upstream.address,
        ...extra,
        ...siteOptions
      })
    );
    return {
      ...front,
      upstream,
      async stop() {
        await front.nginx.stop();
        await upstream.close();
      }
    };
  } catch (error) {
    await upstream.close();
    throw error;
  }
}
