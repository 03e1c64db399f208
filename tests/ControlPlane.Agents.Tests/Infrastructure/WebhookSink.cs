using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Agents.Tests.Infrastructure;

/// <summary>
/// The outside world the agents talk to, on loopback: the user channel (POST /channel, kept as JSON),
/// a billing endpoint (POST /billing, kept byte for byte with its headers; its answer settable), and
/// a health target whose /readyz answer the test sets.
/// </summary>
public sealed class WebhookSink : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<JsonElement> _messages = new();
    private readonly ConcurrentQueue<(byte[] Body, IHeaderDictionary Headers)> _billing = new();

    private WebhookSink(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public Uri Channel => new(BaseAddress, "/channel");

    public Uri Billing => new(BaseAddress, "/billing");

    /// <summary>A health target's base URL: its /readyz answers <see cref="ReadyStatus"/> and <see cref="ReadyBody"/>.</summary>
    public Uri Target => new(BaseAddress, "/target/");

    public IReadOnlyList<JsonElement> Messages => [.. _messages];

    public IReadOnlyList<(byte[] Body, IHeaderDictionary Headers)> BillingPosts => [.. _billing];

    public int BillingStatus { get; set; } = 200;

    public int ReadyStatus { get; set; } = 200;

    public string ReadyBody { get; set; } = "ok";

    public IEnumerable<string> Kinds => Messages.Select(m => m.GetProperty("kind").GetString()!);

    public string AllText => string.Join("\n", Messages.Select(m => m.GetRawText())) + string.Join("\n", BillingPosts.Select(p => Encoding.UTF8.GetString(p.Body)));

    public static async Task<WebhookSink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var sink = new WebhookSink(app);
        app.MapPost("/channel", async (HttpContext http) =>
        {
            using var document = await JsonDocument.ParseAsync(http.Request.Body);
            sink._messages.Enqueue(document.RootElement.Clone());
            return Results.Ok();
        });
        app.MapPost("/billing", async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            sink._billing.Enqueue((buffer.ToArray(), new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value))));
            return Results.StatusCode(sink.BillingStatus);
        });
        app.MapGet("/target/readyz", () => Results.Text(sink.ReadyBody, statusCode: sink.ReadyStatus));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        sink.BaseAddress = new Uri(address);
        return sink;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}
