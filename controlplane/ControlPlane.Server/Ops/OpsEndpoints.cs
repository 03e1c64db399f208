using ControlPlane.Hosting;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Ops;

/// <summary>
/// /healthz (the process is up), /readyz (it can serve: store reachable, registry and resource cache warm; body "ok"
/// as the reference's health-agent expects, else 503 "not_ready: why"), /version; HEAD as GET without the body.
/// </summary>
internal static class OpsEndpoints
{
    private static readonly TimeSpan StorePingTimeout = TimeSpan.FromSeconds(2);

    // While the store is known to be unreachable: a store that is back answers a PING at once, and a
    // probe (a kubelet's waits 1 s by default) gets its answer before it gives up.
    private static readonly TimeSpan UnreachableStorePingTimeout = TimeSpan.FromMilliseconds(250);

    public static void Map(WebApplication app)
    {
        var started = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        app.MapGet("/healthz", () => Results.Text("ok")).WithHead();
        app.MapGet("/readyz", ReadyAsync).WithHead();
        app.MapVersion("controlplane", typeof(OpsEndpoints).Assembly, started).WithHead();
    }

    private static async Task<IResult> ReadyAsync(
        IRegistryStore store, ExpiryScheduler expiry, Discovery.Cache.IResourceWatch resources, IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return NotReady("shutting down");
        }
        if (!lifetime.ApplicationStarted.IsCancellationRequested || !expiry.Warm.IsCompleted || !resources.WhenWarm.IsCompletedSuccessfully)
        {
            return NotReady("warming up");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(store.KnownUnreachable ? UnreachableStorePingTimeout : StorePingTimeout);
        try
        {
            await store.PingAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return NotReady("store unreachable");
        }
        return Results.Text("ok");
    }

    private static IResult NotReady(string why) => Results.Text("not_ready: " + why, statusCode: StatusCodes.Status503ServiceUnavailable);
}
