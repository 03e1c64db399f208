using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary><c>rediss://</c> to a redis-server speaking TLS only, its certificate issued by a private CA.</summary>
public sealed class RedisTlsTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("redis-tls-test-").FullName;
    private RedisServer? _server;

    private string CaFile => Path.Combine(_directory, "ca.pem");

    public async ValueTask InitializeAsync()
    {
        if (!RedisServer.Installed)
        {
            return;
        }
        var now = DateTimeOffset.UtcNow;
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Redis Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.Create(ca, now.AddHours(-1), now.AddHours(12), [1, 2, 3, 4]);

        var certificateFile = Path.Combine(_directory, "server.pem");
        var keyFile = Path.Combine(_directory, "server.key");
        await File.WriteAllTextAsync(CaFile, ca.ExportCertificatePem()).DefaultTimeout();
        await File.WriteAllTextAsync(certificateFile, certificate.ExportCertificatePem()).DefaultTimeout();
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem()).DefaultTimeout();
        _server = await RedisServer.StartTlsAsync(certificateFile, keyFile);
    }

    private RedisConnection Connect(string? caFile)
    {
        RedisServer.Require();
        return RedisConnection.Connect(new RedisStoreOptions { Url = _server!.Url, TlsCaFile = caFile, ConnectTimeout = TimeSpan.FromSeconds(2) }, NullLogger.Instance, _ => null);
    }

    [Fact]
    public async Task WithThePrivateCa_TheStoreWorksOverTls()
    {
        Assert.StartsWith("rediss://", _server?.Url ?? "rediss://", StringComparison.Ordinal);
        using var connection = Connect(CaFile);
        var store = new RedisRegistryStore(connection);
        await store.PingAsync().DefaultTimeout();
        var spec = new InstanceSpec("i1", "svc", "img", "10.0.0.1", 8080, "", Google.Protobuf.ByteString.Empty, 30);
        Assert.Equal(RegisterResult.Created, (await store.RegisterAsync(spec, DateTimeOffset.UnixEpoch).DefaultTimeout()).Result);
    }

    [Fact]
    public async Task WithoutIt_TheUntrustedCertificateIsRefused()
    {
        using var connection = Connect(caFile: null);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => new RedisRegistryStore(connection).PingAsync().AsTask()).DefaultTimeout();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }
}
