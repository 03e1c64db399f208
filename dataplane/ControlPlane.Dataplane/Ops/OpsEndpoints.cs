using ControlPlane.Hosting;
using ControlPlane.Dataplane.Configuration;

namespace ControlPlane.Dataplane.Ops;

/// <summary>
/// <c>/healthz</c> (the process is up), <c>/readyz</c> (it can route: a configuration is held; body
/// "ok", else 503 "not_ready: why", as the control plane answers), <c>/version</c>.
/// </summary>
internal static class OpsEndpoints
{
    public static void Map(WebApplication app)
    {
        var started = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (IProxyConfigProvider config, IHostApplicationLifetime lifetime) =>
            lifetime.ApplicationStopping.IsCancellationRequested ? NotReady("shutting down")
            : !config.Current.IsLoaded ? NotReady("no configuration yet")
            : Results.Text("ok"));
        app.MapVersion("dataplane", typeof(OpsEndpoints).Assembly, started);
    }

    private static IResult NotReady(string why) => Results.Text("not_ready: " + why, statusCode: StatusCodes.Status503ServiceUnavailable);
}
