using System.Reflection;
using ControlPlane.Hosting;
using ControlPlane.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ControlPlane.Sdk.ServiceContract;

/// <summary>The handlers behind the agent service contract.</summary>
internal static class ServiceContractEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints, AgentServiceContractOptions options)
    {
        var time = endpoints.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;
        var started = time.GetTimestamp();
        var startedAt = time.GetUtcNow();
        var assembly = options.VersionAssembly ?? Assembly.GetEntryAssembly() ?? typeof(ServiceContractEndpoints).Assembly;
        var name = options.Name ?? assembly.GetName().Name ?? "agent";
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var version = informational.Split('+')[0];

        endpoints.MapGet("/health", () => Results.Json(new HealthBody("ok", version, (long)time.GetElapsedTime(started).TotalSeconds)));
        endpoints.MapGet("/ready", (Func<HttpContext, Task<IResult>>)(context => ReadyAsync(context, options, time)));
        endpoints.MapPrometheusMetrics();
        endpoints.MapVersion(name, assembly, startedAt);
    }

    private static async Task<IResult> ReadyAsync(HttpContext context, AgentServiceContractOptions options, TimeProvider time)
    {
        var lifetime = context.RequestServices.GetRequiredService<IHostApplicationLifetime>();
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return Results.Json(new ReadyBody("not_ready", new Dictionary<string, string> { ["service"] = "shutting down" }), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        var checks = context.RequestServices.GetServices<IReadinessCheck>().ToArray();
        var results = await Task.WhenAll(checks.Select(c => RunAsync(c, options.ReadinessTimeout, time, context.RequestAborted)));
        var body = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < checks.Length; i++)
        {
            body[checks[i].Name] = results[i].IsReady ? "ok" : "not_ready: " + results[i].Detail;
        }
        var ready = results.All(r => r.IsReady);
        return Results.Json(new ReadyBody(ready ? "ok" : "not_ready", body), statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<ReadinessResult> RunAsync(IReadinessCheck check, TimeSpan timeout, TimeProvider time, CancellationToken aborted)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        try
        {
            return await check.CheckAsync(cts.Token).WaitAsync(timeout, time, cts.Token);
        }
        catch (TimeoutException)
        {
            await cts.CancelAsync();
            return ReadinessResult.NotReady($"no answer within {timeout.TotalSeconds:0.###} s");
        }
#pragma warning disable CA1031 // a failing check means "not ready", never a 500
        catch (Exception ex) when (!aborted.IsCancellationRequested)
#pragma warning restore CA1031
        {
            return ReadinessResult.NotReady(ex.GetType().Name + ": " + ex.Message);
        }
    }

    private sealed record HealthBody(
        [property: System.Text.Json.Serialization.JsonPropertyName("status")] string Status,
        [property: System.Text.Json.Serialization.JsonPropertyName("version")] string Version,
        [property: System.Text.Json.Serialization.JsonPropertyName("uptime_s")] long UptimeSeconds);

    private sealed record ReadyBody(
        [property: System.Text.Json.Serialization.JsonPropertyName("status")] string Status,
        [property: System.Text.Json.Serialization.JsonPropertyName("checks")] IReadOnlyDictionary<string, string> Checks);
}
