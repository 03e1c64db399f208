using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Transcoding.V1;
using ControlPlane.Grpc.Transcoding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>A real Kestrel server (HTTP/1.1 unless told) serving <see cref="TranscodingTestService"/> as REST, and a client for it.</summary>
internal sealed class RestTestServer : IAsyncDisposable
{
    private RestTestServer(GrpcTestServer server, TranscodingHooks hooks)
    {
        Server = server;
        Hooks = hooks;
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TaskTimeoutExtensions.Timeout };
    }

    public GrpcTestServer Server { get; }

    public TranscodingHooks Hooks { get; }

    public HttpClient Http { get; }

    public static async Task<RestTestServer> StartAsync(
        Action<GrpcJsonTranscodingOptions>? transcoding = null,
        Action<GrpcServerOptions>? grpc = null,
        Action<IServiceCollection>? services = null,
        Action<WebApplication>? map = null,
        HttpProtocols protocols = HttpProtocols.Http1)
    {
        var hooks = new TranscodingHooks();
        var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Protocols = protocols,
            ConfigureGrpc = grpc,
            ConfigureServices = s =>
            {
                s.AddSingleton(hooks);
                s.AddGrpcJsonTranscoding(transcoding);
                services?.Invoke(s);
            },
            Map = app =>
            {
                app.MapGrpcService<TranscodingTestService>(TranscodingTestReflection.Descriptor.Services[0]);
                map?.Invoke(app);
            },
        });
        return new RestTestServer(server, hooks);
    }

    public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json = null, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        return Http.SendAsync(request).DefaultTimeout();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}

internal static class RestResponse
{
    /// <summary>The JSON body, after checking the status and the JSON content type.</summary>
    public static async Task<JsonNode> JsonAsync(this HttpResponseMessage response, System.Net.HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.True(expected == response.StatusCode, $"Expected HTTP {(int)expected}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        return JsonNode.Parse(text)!;
    }

    /// <summary>The error body's ErrorInfo reason (the first ErrorInfo detail).</summary>
    public static string? Reason(this JsonNode error) =>
        error["details"]!.AsArray().FirstOrDefault(d => (string?)d!["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")?["reason"]?.GetValue<string>();

    /// <summary>The error body's BadRequest field violations, as "field: description".</summary>
    public static IReadOnlyList<(string Field, string Description)> Violations(this JsonNode error) =>
        error["details"]!.AsArray()
            .Where(d => (string?)d!["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .SelectMany(d => d!["field_violations"]!.AsArray())
            .Select(v => ((string)v!["field"]!, (string)v["description"]!))
            .ToList();
}
