using System.Globalization;
using System.Reflection;
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
        app.MapGet("/version", () =>
        {
            var asm = typeof(OpsEndpoints).Assembly;
            var info = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
            var plus = info.IndexOf('+', StringComparison.Ordinal);
            return Results.Json(new
            {
                name = "dataplane",
                version = plus < 0 ? info : info[..plus],
                git_sha = plus < 0 ? "unknown" : info[(plus + 1)..],
                build_time = File.GetLastWriteTimeUtc(asm.Location).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                started_at = started.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            });
        });
    }

    private static IResult NotReady(string why) => Results.Text("not_ready: " + why, statusCode: StatusCodes.Status503ServiceUnavailable);
}
