using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.TestCommon;

/// <summary>Settings of a <see cref="GrpcTestServer"/>.</summary>
public sealed class GrpcTestServerOptions
{
    public Action<IServiceCollection>? ConfigureServices { get; set; }

    public Action<GrpcServerOptions>? ConfigureGrpc { get; set; }

    public Action<KestrelServerOptions>? ConfigureKestrel { get; set; }

    /// <summary>Map endpoints (gRPC services, plain HTTP handlers).</summary>
    public required Action<WebApplication> Map { get; set; }

    /// <summary>Serve TLS (self-signed, ALPN h2 + http/1.1) instead of cleartext HTTP/2.</summary>
    public bool Tls { get; set; }

    /// <summary>Protocols of a cleartext endpoint (HTTP/2 only by default: h2c prior knowledge).</summary>
    public HttpProtocols Protocols { get; set; } = HttpProtocols.Http2;
}

/// <summary>A real Kestrel server on a free loopback port, running the project's gRPC runtime.</summary>
public sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcTestServer(WebApplication app, Uri address, TestLogSink logs, X509Certificate2? certificate)
    {
        _app = app;
        Address = address;
        Logs = logs;
        Certificate = certificate;
    }

    public Uri Address { get; }

    public int Port => Address.Port;

    public TestLogSink Logs { get; }

    public X509Certificate2? Certificate { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<GrpcTestServer> StartAsync(GrpcTestServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder();
        var logs = new TestLogSink();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        var certificate = options.Tls ? CreateSelfSignedCertificate() : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (certificate is not null)
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                }
                else
                {
                    listen.Protocols = options.Protocols;
                }
            });
            options.ConfigureKestrel?.Invoke(kestrel);
        });
        builder.Services.AddGrpcServer(options.ConfigureGrpc);
        options.ConfigureServices?.Invoke(builder.Services);
        var app = builder.Build();
        options.Map(app);
        await app.StartAsync().DefaultTimeout();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var uri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return new GrpcTestServer(app, uri, logs, certificate);
    }

    /// <summary>A channel to this server; for TLS it trusts the server's self-signed certificate.</summary>
    public GrpcChannel CreateChannel(GrpcChannelOptions? options = null)
    {
        options ??= new GrpcChannelOptions();
        if (Certificate is not null)
        {
            var thumbprint = Certificate.Thumbprint;
            options.SslOptions ??= new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) => cert is X509Certificate2 c && c.Thumbprint == thumbprint,
            };
        }
        return GrpcChannel.ForAddress(Address, options);
    }

    /// <summary>Fails the test when the server logged an error that <paramref name="expected"/> does not allow.</summary>
    public void AssertNoUnexpectedErrors(Func<TestLogSink.LogRecord, bool>? expected = null)
    {
        var unexpected = Logs.Errors.Where(r => expected is null || !expected(r)).ToList();
        if (unexpected.Count > 0)
        {
            throw new Xunit.Sdk.XunitException("Unexpected error logs:" + Environment.NewLine + string.Join(Environment.NewLine, unexpected));
        }
    }

    /// <summary>Stops the host as a SIGTERM would (ApplicationStopping, then Kestrel's drain); disposing afterwards is still needed.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
        Certificate?.Dispose();
    }

    private static X509Certificate2 CreateSelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Re-import through PKCS#12 so the private key is usable by SslStream on Linux.
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }
}
