using System.Text;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Registry;

/// <summary>
/// The registry's behaviour over any <see cref="IRegistryStore"/>: validation, the rules of
/// registration (idempotent re-registration, duplicate ids, port conflicts), leases, listings and
/// topology. Transport-neutral: the gRPC service and, through JSON transcoding, REST call it.
/// </summary>
public sealed class ServiceRegistry
{
    private readonly IRegistryStore _store;
    private readonly RegistryOptions _options;
    private readonly TimeProvider _clock;
    private readonly ExpiryScheduler _expiry;
    private readonly RegistryMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ResourceChanges _changes;
    private readonly IDataplaneDirectory? _dataplanes;
    private readonly IImageAlgorithms? _algorithms;

    public ServiceRegistry(
        IRegistryStore store,
        RegistryOptions options,
        TimeProvider clock,
        ExpiryScheduler expiry,
        RegistryMetrics metrics,
        ResourceChanges changes,
        ILogger<ServiceRegistry> logger,
        IDataplaneDirectory? dataplanes = null,
        IImageAlgorithms? algorithms = null)
    {
        _dataplanes = dataplanes;
        _algorithms = algorithms;
        ArgumentNullException.ThrowIfNull(changes);
        _changes = changes;
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(expiry);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _options = options;
        _clock = clock;
        _expiry = expiry;
        _metrics = metrics;
        _logger = logger;
    }

    public RegistryOptions Options => _options;

    public bool SelfPreservationEngaged => _expiry.SelfPreservationEngaged;

    public async Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            RegistrationValidator.ValidateRegistration(request, _options);
        }
        catch (RpcException)
        {
            _metrics.Registered("invalid");
            throw;
        }
        var spec = new InstanceSpec(
            request.InstanceId,
            request.Name,
            request.Image,
            request.Host,
            request.Port,
            request.Region,
            InstanceSpec.Encode(request.Metadata),
            request.TtlSeconds == 0 ? _options.DefaultTtlSeconds : request.TtlSeconds);

        var outcome = await _store.RegisterAsync(spec, _clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        switch (outcome.Result)
        {
            case RegisterResult.DuplicateInstanceId:
                _metrics.Registered("duplicate_instance_id");
                var owner = outcome.Holder!.Spec;
                // An expired holder keeps its id until its record is removed: say when, and how to free it sooner.
                var expired = outcome.Holder is { IsLive: false, ExpiredAt: { } expiredAt }
                    ? $"; that instance expired at {expiredAt:yyyy-MM-ddTHH:mm:ssZ} and keeps its id until its record is removed at {expiredAt + _options.ExpiredRetention:yyyy-MM-ddTHH:mm:ssZ} (deregister it to free the id now)"
                    : "";
                throw RpcErrors.Exception(
                    StatusCode.AlreadyExists,
                    "duplicate_instance_id",
                    $"instance_id '{spec.InstanceId}' is already registered as {owner.Name} ({owner.Image}); an instance id may be registered again only with the same name and image{expired}",
                    new Dictionary<string, string> { ["instance_id"] = spec.InstanceId, ["name"] = owner.Name, ["image"] = owner.Image });
            case RegisterResult.PortConflict:
                _metrics.Registered("port_conflict");
                var holder = outcome.Holder!;
                throw RpcErrors.Exception(
                    StatusCode.AlreadyExists,
                    "port_conflict",
                    $"{spec.Host}:{spec.Port} is held by live instance '{holder.InstanceId}' ({holder.Spec.Name}, {holder.Status.Name()})",
                    new Dictionary<string, string>
                    {
                        ["holder_instance_id"] = holder.InstanceId,
                        ["holder_name"] = holder.Spec.Name,
                        ["host"] = spec.Host,
                        ["port"] = spec.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    });
        }

        var record = outcome.Instance!;
        var created = outcome.Result == RegisterResult.Created;
        _metrics.Registered(created ? "created" : "updated");
        if (created)
        {
            RegistryLog.Registered(_logger, spec.InstanceId, spec.Name, spec.Image, spec.Host, spec.Port, spec.TtlSeconds);
        }
        _expiry.Notify(record.ExpiresAt);
        _changes.EndpointsChanged(spec.Image, spec.InstanceId);
        return new RegisterResponse
        {
            Registered = 1,
            Created = created,
            ExpiresAt = Timestamp.FromDateTimeOffset(record.ExpiresAt),
            Instance = record.ToApi(),
        };
    }

    public async Task<HeartbeatResponse> HeartbeatAsync(HeartbeatRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RegistrationValidator.ValidateInstanceId("instance_id", request.InstanceId);
        RegistrationValidator.ValidateTtl("ttl_seconds", request.TtlSeconds, _options);
        var outcome = (await _store.RenewAsync([request.InstanceId], request.TtlSeconds, _clock.GetUtcNow(), cancellationToken).ConfigureAwait(false))[0];
        if (outcome.Result == RenewResult.NotFound)
        {
            _metrics.Heartbeats(0, 1, "unary");
            throw NotFound(request.InstanceId, " (unknown or expired: register it again)");
        }
        _metrics.Heartbeats(1, 0, "unary");
        if (request.TtlSeconds > 0)
        {
            // A shorter TTL may bring the deadline before the one the expiry timer waits for.
            _expiry.Notify(outcome.ExpiresAt);
        }
        return new HeartbeatResponse
        {
            InstanceId = request.InstanceId,
            TtlSeconds = outcome.TtlSeconds,
            ExpiresAt = Timestamp.FromDateTimeOffset(outcome.ExpiresAt),
            Status = outcome.Status.Name(),
        };
    }

    /// <summary>One beat of a heartbeat stream: every id answered on its own (renewed, not found, or invalid).</summary>
    public async Task<HeartbeatStreamResponse> BeatAsync(HeartbeatStreamRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.InstanceIds.Count > _options.MaxInstancesPerBeat)
        {
            throw RpcErrors.InvalidArgument(RegistrationValidator.Reason, [new("instance_ids", $"carries {request.InstanceIds.Count} ids; at most {_options.MaxInstancesPerBeat} per message")]);
        }
        var response = new HeartbeatStreamResponse { BeatId = request.BeatId };
        var ids = request.InstanceIds;
        var problems = new string?[ids.Count];
        var valid = new List<string>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            problems[i] = RegistrationValidator.InstanceIdProblem(ids[i]);
            if (problems[i] is null)
            {
                valid.Add(ids[i]);
            }
        }
        var outcomes = valid.Count == 0 ? [] : await _store.RenewAsync(valid, 0, _clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        int renewed = 0, notFound = 0, next = 0;
        for (var i = 0; i < ids.Count; i++)
        {
            var id = ids[i];
            if (problems[i] is { } problem)
            {
                response.Results.Add(new HeartbeatResult { InstanceId = id.Length > 128 ? id[..128] : id, Outcome = HeartbeatOutcome.InvalidArgument, Message = "instance_id " + problem });
                continue;
            }
            var outcome = outcomes[next++];
            if (outcome.Result == RenewResult.NotFound)
            {
                notFound++;
                response.Results.Add(new HeartbeatResult { InstanceId = id, Outcome = HeartbeatOutcome.NotFound, Message = "unknown or expired: register it again" });
            }
            else
            {
                renewed++;
                response.Results.Add(new HeartbeatResult
                {
                    InstanceId = id,
                    Outcome = HeartbeatOutcome.Renewed,
                    TtlSeconds = outcome.TtlSeconds,
                    ExpiresAt = Timestamp.FromDateTimeOffset(outcome.ExpiresAt),
                    Status = outcome.Status.Name(),
                });
            }
        }
        _metrics.Heartbeats(renewed, notFound, "stream");
        return response;
    }

    public async Task<DeregisterResponse> DeregisterAsync(DeregisterRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RegistrationValidator.ValidateInstanceId("instance_id", request.InstanceId);
        var removed = await _store.DeregisterAsync(request.InstanceId, cancellationToken).ConfigureAwait(false);
        if (removed is null)
        {
            if (_changes.HeldImageOf(request.InstanceId) is { } image)
            {
                // Gone from the store (it came back empty) but still sent from the mass-removal hold: no
                // replica waits for the hold's end to drop it.
                await _store.AnnounceGoneAsync(image, request.InstanceId, cancellationToken).ConfigureAwait(false);
                _changes.EndpointsChanged(image, request.InstanceId);
                RegistryLog.ReleasedFromHold(_logger, request.InstanceId, image);
            }
            throw NotFound(request.InstanceId, "");
        }
        _metrics.Removed(1, "deregistered");
        _changes.EndpointsChanged(removed.Spec.Image, removed.InstanceId);
        RegistryLog.Deregistered(_logger, removed.InstanceId, removed.Spec.Name);
        return new DeregisterResponse { Deregistered = true, Instance = removed.ToApi() };
    }

    public async Task<DrainInstanceResponse> DrainAsync(DrainInstanceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RegistrationValidator.ValidateInstanceId("instance_id", request.InstanceId);
        var record = await _store.SetDrainingAsync(request.InstanceId, !request.Resume, cancellationToken).ConfigureAwait(false)
            ?? throw NotFound(request.InstanceId, " (unknown or expired)");
        RegistryLog.StatusChanged(_logger, record.InstanceId, record.Status.Name());
        _changes.EndpointsChanged(record.Spec.Image, record.InstanceId);
        return new DrainInstanceResponse { Instance = record.ToApi() };
    }

    public async Task<GetInstanceResponse> GetInstanceAsync(GetInstanceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RegistrationValidator.ValidateInstanceId("instance_id", request.InstanceId);
        var record = await _store.GetAsync(request.InstanceId, cancellationToken).ConfigureAwait(false)
            ?? throw NotFound(request.InstanceId, "");
        return new GetInstanceResponse { Instance = record.ToApi() };
    }

    public async Task<ListServicesResponse> ListAsync(ListServicesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new List<FieldViolation>();
        InstanceStatus? status = null;
        if (request.Status.Length > 0)
        {
            if (InstanceMapping.TryParseStatus(request.Status, out var parsed))
            {
                status = parsed;
            }
            else
            {
                errors.Add(new("status", "must be one of healthy, draining, expired"));
            }
        }
        if (request.PageSize < 0)
        {
            errors.Add(new("page_size", "must not be negative"));
        }
        var pages = new PageQuery("controlplane.v1.RegistryService/ListServices", ("name", request.Name), ("image", request.Image), ("status", request.Status));
        var after = PageTokens.Read(request.PageToken, pages, errors);
        if (errors.Count > 0)
        {
            throw RpcErrors.InvalidArgument(RegistrationValidator.Reason, errors);
        }
        var pageSize = request.PageSize == 0 ? _options.MaxPageSize : Math.Min(request.PageSize, _options.MaxPageSize);
        var query = new InstanceQuery(NullIfEmpty(request.Name), NullIfEmpty(request.Image), status, after, pageSize + 1);
        var records = await _store.ListAsync(query, cancellationToken).ConfigureAwait(false);
        var response = new ListServicesResponse();
        foreach (var record in records.Take(pageSize))
        {
            response.Instances.Add(record.ToApi());
        }
        if (records.Count > pageSize)
        {
            response.NextPageToken = PageTokens.After(pages, records[pageSize - 1].InstanceId);
        }
        return response;
    }

    public async Task<GetServiceInstancesResponse> GetServiceInstancesAsync(GetServiceInstancesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RegistrationValidator.ValidateName("name", request.Name);
        InstanceStatus? status = null;
        if (request.Status.Length > 0)
        {
            if (!InstanceMapping.TryParseStatus(request.Status, out var parsed))
            {
                throw RpcErrors.InvalidArgument(RegistrationValidator.Reason, [new("status", "must be one of healthy, draining, expired")]);
            }
            status = parsed;
        }
        var all = await _store.ListAsync(new InstanceQuery(Name: request.Name), cancellationToken).ConfigureAwait(false);
        if (all.Count == 0)
        {
            throw RpcErrors.Exception(StatusCode.NotFound, "not_found", $"service '{request.Name}' has no registered instances");
        }
        var response = new GetServiceInstancesResponse { Name = request.Name };
        foreach (var record in all)
        {
            if (status is null || record.Status == status)
            {
                response.Instances.Add(record.ToApi());
            }
        }
        return response;
    }

    public async Task<GetTopologyResponse> GetTopologyAsync(GetTopologyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var records = await _store.ListAsync(new InstanceQuery(Image: NullIfEmpty(request.Image)), cancellationToken).ConfigureAwait(false);
        var response = new GetTopologyResponse
        {
            GeneratedAt = Timestamp.FromDateTimeOffset(_clock.GetUtcNow()),
            SelfPreservation = _expiry.SelfPreservationEngaged,
        };
        foreach (var image in records.GroupBy(r => r.Spec.Image).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var algorithm = _algorithms is null ? null : await _algorithms.AlgorithmOfAsync(image.Key, cancellationToken).ConfigureAwait(false);
            var topologyImage = new TopologyImage { Image = image.Key, Algorithm = algorithm ?? "round_robin" };
            foreach (var service in image.GroupBy(r => r.Spec.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var topologyService = new TopologyService { Name = service.Key };
                topologyService.Instances.AddRange(service.Select(r => r.ToApi()));
                topologyImage.Services.Add(topologyService);
            }
            response.Images.Add(topologyImage);
        }
        if (_dataplanes is not null)
        {
            response.Dataplanes.AddRange(await _dataplanes.ListAsync(cancellationToken).ConfigureAwait(false));
        }
        return response;
    }

    private static RpcException NotFound(string instanceId, string why) =>
        RpcErrors.Exception(StatusCode.NotFound, "not_found", $"instance '{instanceId}' is not registered{why}", new Dictionary<string, string> { ["instance_id"] = instanceId });

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

}
