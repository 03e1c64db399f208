using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.TestCommon;

/// <summary>
/// A control-plane replica cut off from its store, as a client sees it: every gRPC call is answered
/// from "memory", marked <c>x-platform-last-contact: <see cref="LastContactMs"/></c>. Methods named in
/// <c>notFound</c> (e.g. "GetPolicy") answer NOT_FOUND (marked in the trailers); every other method
/// answers an empty message, the default of any response type.
/// </summary>
public sealed class MemoryReplica : IAsyncDisposable
{
    public const long LastContactMs = 123_456;

    private readonly WebApplication _app;

    private MemoryReplica(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<MemoryReplica> StartAsync(params string[] notFound)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        var last = LastContactMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        app.Run(async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            var method = context.Request.Path.Value!.Split('/')[^1];
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["x-platform-last-contact"] = last;
            if (notFound.Contains(method, StringComparer.Ordinal))
            {
                context.Response.AppendTrailer("grpc-status", "5");
                context.Response.AppendTrailer("grpc-message", "not found (from memory)");
                context.Response.AppendTrailer("x-platform-last-contact", last);
                return;
            }
            // One empty message: a 0 flag byte and a 0 length.
            await context.Response.Body.WriteAsync(new byte[5]);
            context.Response.AppendTrailer("grpc-status", "0");
        });
        await app.StartAsync().DefaultTimeout();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new MemoryReplica(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}
