# One image for every alertfold process; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY wire wire
COPY infra infra
COPY agents agents
COPY projections projections
COPY gateways gateways
COPY app app
RUN pip install --no-cache-dir .
ENV ALERTFOLD_API_HOST=0.0.0.0 ALERTFOLD_DATA_DIR=/data
VOLUME /data
ENTRYPOINT ["alertfold"]
CMD ["api"]
